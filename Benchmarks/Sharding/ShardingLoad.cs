using System.Diagnostics;
using System.Globalization;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OrleansShards.Grains.Hosting;
using OrleansShards.Benchmarks.Infrastructure;

namespace OrleansShards.Benchmarks.Sharding;

/// <summary>
/// Load driver: shard a table of N rows (default 1 000 000) into 8 while one writer inserts continuously, and compare
/// the copy rate with the limit — a plain <c>INSERT … SELECT</c> between two SQLite files over ATTACH in raw
/// Microsoft.Data.Sqlite. Reports rows/s of both, their ratio, the switch stall and the writer's latencies.
/// Run: <c>dotnet run -c Release --project Benchmarks -- sharding [rows]</c>.
/// </summary>
public static class ShardingLoad
{
    private const string Tenant = "bench";
    private const string Table = "items";

    public static async Task<int> RunAsync(string[] args)
    {
        var rows = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 1_000_000;
        var root = Path.Combine(Path.GetTempPath(), "orleansshards-bench-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(root);
        try
        {
            var baseline = Baseline(root, rows);
            var engine = await EngineAsync(root, rows).ConfigureAwait(false);
            Console.WriteLine("| measure | value |");
            Console.WriteLine("|---|---|");
            Console.WriteLine($"| rows | {rows:N0} |");
            Console.WriteLine($"| baseline INSERT…SELECT over ATTACH | {baseline.TotalSeconds:F2} s, {rows / baseline.TotalSeconds:N0} rows/s |");
            Console.WriteLine($"| shard into 8 (online, writer running) | {engine.Duration.TotalSeconds:F2} s, {rows / engine.Duration.TotalSeconds:N0} rows/s |");
            Console.WriteLine($"| ratio engine / baseline | {baseline.TotalSeconds / engine.Duration.TotalSeconds:F2} |");
            Console.WriteLine($"| switch stall (writes held) | {engine.StallMs} ms |");
            Console.WriteLine($"| writer: writes acknowledged (during the operation and until it returned) | {engine.Writes:N0} |");
            Console.WriteLine($"| writer: p50 / p99 / max write latency over the whole run | {engine.P50:F2} / {engine.P99:F2} / {engine.Max:F1} ms |");
            Console.WriteLine($"| rows after (all present, none twice) | {engine.RowsAfter:N0} (expected {rows + engine.Writes:N0}) |");
            return engine.RowsAfter == rows + engine.Writes ? 0 : 1;
        }
        finally
        {
            try
            {
                Directory.Delete(root, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    private static TimeSpan Baseline(string root, int rows)
    {
        var source = Path.Combine(root, "baseline-src.db");
        var target = Path.Combine(root, "baseline-dst.db");
        using (var src = Open(source))
        {
            Exec(src, $"CREATE TABLE {Table}(id INTEGER PRIMARY KEY, org TEXT NOT NULL, price REAL, meta TEXT)");
            Exec(src, Fill(0, rows - 1));
        }

        using var dst = Open(target);
        Exec(dst, $"CREATE TABLE {Table}(id INTEGER PRIMARY KEY, org TEXT NOT NULL, price REAL, meta TEXT)");
        Exec(dst, $"ATTACH DATABASE '{source}' AS src");
        var watch = Stopwatch.StartNew();
        Exec(dst, $"INSERT INTO main.{Table} SELECT * FROM src.{Table}");
        return watch.Elapsed;
    }

    private static async Task<EngineFigures> EngineAsync(string root, int rows)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        var dir = Path.Combine(root, "engine");
        builder.UseShardsSilo(dir, responseTimeout: TimeSpan.FromMinutes(10));
        using var host = builder.Build();
        await host.StartAsync().ConfigureAwait(false);
        var grains = host.Services.GetRequiredService<IGrainFactory>();
        var key = ShardName.Format(Tenant, Table);
        var table = grains.GetGrain<ITableShard>(key);
        await table.DdlAsync(new DdlRequest($"CREATE TABLE {Table}(id INTEGER PRIMARY KEY, org TEXT NOT NULL, price REAL, meta TEXT)")).ConfigureAwait(false);
        for (var start = 0; start < rows; start += 10_000)
        {
            await table.MutateAsync(new MutationRequest(Fill(start, Math.Min(rows, start + 10_000) - 1))).ConfigureAwait(false);
        }

        using var stop = new CancellationTokenSource();
        var latencies = new List<double>();
        var writes = 0;
        var writer = Task.Run(async () =>
        {
            var id = rows + 1_000_000;
            while (!stop.IsCancellationRequested)
            {
                var org = "org" + (id % 40).ToString(CultureInfo.InvariantCulture);
                var watch = Stopwatch.StartNew();
                await table.MutateAsync(new MutationRequest($"INSERT INTO {Table}(id, org, price) VALUES (?, ?, ?)", [id, org, 1.0], IdempotencyKey: "w" + id, ShardKey: org)).ConfigureAwait(false);
                latencies.Add(watch.Elapsed.TotalMilliseconds);
                writes++;
                id++;
            }
        });

        var operation = Stopwatch.StartNew();
        var result = await grains.GetGrain<IShardRegistry>(key).ShardAsync(new ShardRequest("org", 8)).ConfigureAwait(false);
        var duration = operation.Elapsed;
        await stop.CancelAsync().ConfigureAwait(false);
        await writer.ConfigureAwait(false);
        var count = await table.QueryAsync(new QueryRequest($"SELECT count(*), count(DISTINCT id) FROM {Table}")).ConfigureAwait(false);
        var total = count.Rows.Sum(r => r[0].AsInteger);
        await host.StopAsync().ConfigureAwait(false);
        latencies.Sort();
        return new EngineFigures(
            duration,
            result.StallMs,
            writes,
            Percentile(latencies, 0.5),
            Percentile(latencies, 0.99),
            latencies.Count == 0 ? 0 : latencies[^1],
            total);
    }

    private static string Fill(long from, long to) =>
        $"WITH RECURSIVE s(x) AS (SELECT {from} UNION ALL SELECT x + 1 FROM s WHERE x < {to}) " +
        $"INSERT INTO {Table}(id, org, price, meta) SELECT x, 'org' || (x % 40), x * 1.5, '{{\"n\":' || x || '}}' FROM s";

    private static double Percentile(List<double> sorted, double p) => sorted.Count == 0 ? 0 : sorted[(int)Math.Min(sorted.Count - 1, p * sorted.Count)];

    private static SqliteConnection Open(string path)
    {
        var connection = new SqliteConnection($"Data Source={path};Pooling=False");
        connection.Open();
        Exec(connection, "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;");
        return connection;
    }

    private static void Exec(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private sealed record EngineFigures(TimeSpan Duration, long StallMs, int Writes, double P50, double P99, double Max, long RowsAfter);
}
