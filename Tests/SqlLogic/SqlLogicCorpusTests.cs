using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Xunit.Abstractions;

namespace OrleansShards.Tests.SqlLogic;

/// <summary>
/// The whole sqllogictest corpus (<c>../shared/sqllogictest</c> from the repository root, ~141k records for SQLite) through
/// the HTTP API, scripts in parallel, each in its own tenant. Skipped where the corpus is absent. Run it alone:
/// <c>dotnet test Tests -c Release --filter "Category=Corpus"</c>; <c>SLT_PARALLELISM</c> sets how many scripts run at once
/// (default: the processor count).
/// </summary>
[Trait("Category", "Corpus")]
public sealed class SqlLogicCorpusTests(ITestOutputHelper output)
{
    [SqlLogicCorpusFact]
    public async Task Whole_corpus_answers_as_SQLite_over_HTTP()
    {
        var parallelism = int.TryParse(Environment.GetEnvironmentVariable("SLT_PARALLELISM"), CultureInfo.InvariantCulture, out var p) && p > 0
            ? p
            : Environment.ProcessorCount;
        var root = SqlLogicCorpus.Shared;

        // The largest scripts first, so the parallel runs end together.
        var scripts = SqlLogicCorpus.Scripts(root).OrderByDescending(s => new FileInfo(Path.Combine(root, s)).Length).ToList();
        await using var silo = new SqlLogicSilo();
        silo.CreateClient().Dispose();

        var watch = Stopwatch.StartNew();
        var results = new ConcurrentBag<SqlLogicFileResult>();
        await Parallel.ForEachAsync(
            scripts,
            new ParallelOptions { MaxDegreeOfParallelism = parallelism },
            async (script, cancellationToken) => results.Add(await silo.RunAsync(root, script, cancellationToken)));
        watch.Stop();

        var report = SqlLogicReport.Describe(results);
        output.WriteLine(report);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{watch.Elapsed.TotalSeconds:F0} s with {parallelism} scripts at a time"));
        Assert.Equal(scripts.Count, results.Count);
        Assert.True(results.Sum(r => r.Failed) == 0, report);
    }
}
