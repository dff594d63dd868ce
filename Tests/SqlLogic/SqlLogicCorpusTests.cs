using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Xunit.Abstractions;

namespace OrleansShards.Tests.SqlLogic;

/// <summary>
/// The whole sqllogictest corpus (<c>../shared/sqllogictest</c> from the repository root, ~141k records for SQLite)
/// through the HTTP API, scripts in parallel, each in its own tenant. Skipped where the corpus is absent. Run it alone:
/// <c>dotnet test Tests -c Release --filter "Category=Corpus"</c>; <c>SLT_PARALLELISM</c> sets how many scripts run at
/// once (default: the processor count); <c>SLT_SCRIPTS</c> runs only the scripts whose path contains it;
/// <c>SLT_QUERY_STRIDE=n</c> samples the queries (every statement, 1 query in n) for a quicker run.
/// </summary>
[Trait("Category", "Corpus")]
[Collection(OrleansShards.Tests.Caching.LatencyCollection.Name)]
public sealed class SqlLogicCorpusTests(ITestOutputHelper output)
{
    /// <summary>Every record by default: run alone, the whole corpus takes about a minute on 2 cores (its statements most of it).</summary>
    private const int DefaultQueryStride = 1;

    [SqlLogicCorpusFact]
    public async Task Corpus_answers_as_SQLite_over_HTTP()
    {
        var stride = int.TryParse(Environment.GetEnvironmentVariable("SLT_QUERY_STRIDE"), CultureInfo.InvariantCulture, out var s) && s > 0
            ? s
            : DefaultQueryStride;
        var parallelism = int.TryParse(Environment.GetEnvironmentVariable("SLT_PARALLELISM"), CultureInfo.InvariantCulture, out var p) && p > 0
            ? p
            : Environment.ProcessorCount;
        var root = SqlLogicCorpus.Shared;

        // The largest scripts first, so the parallel runs end together.
        var only = Environment.GetEnvironmentVariable("SLT_SCRIPTS");
        var scripts = SqlLogicCorpus.Scripts(root)
            .Where(s => string.IsNullOrEmpty(only) || s.Contains(only, StringComparison.Ordinal))
            .OrderByDescending(s => new FileInfo(Path.Combine(root, s)).Length)
            .ToList();
        var results = new ConcurrentBag<SqlLogicFileResult>();
        var watch = Stopwatch.StartNew();
        var silo = new SqlLogicSilo();
        try
        {
            silo.CreateClient().Dispose();
            watch.Restart();
            await Parallel.ForEachAsync(
                scripts,
                new ParallelOptions { MaxDegreeOfParallelism = parallelism },
                async (script, cancellationToken) => results.Add(await silo.RunAsync(root, script, cancellationToken, stride)));
            watch.Stop();
        }
        finally
        {
            await StopAsync(silo);
        }

        var report = SqlLogicReport.Describe(results);
        output.WriteLine(report);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{watch.Elapsed.TotalSeconds:F0} s with {parallelism} scripts at a time; every statement, 1 query in {stride}"));
        Assert.Equal(scripts.Count, results.Count);
        Assert.All(results, r => Assert.True(r.Run > 0, $"{r.File} ran no record"));
        Assert.True(results.Sum(r => r.Failed) == 0, report);
    }

    /// <summary>
    /// Stops the silo and says how long that took. A stop past the host's shutdown timeout fails the test: after runs
    /// longer than a minute that is how the capacity-timer hang (fixed in 84c6c6e) showed here.
    /// </summary>
    private async Task StopAsync(SqlLogicSilo silo)
    {
        var watch = Stopwatch.StartNew();
        await silo.DisposeAsync();
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"silo stopped in {watch.Elapsed.TotalSeconds:F1} s"));
    }
}
