using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OrleansShards.Grains.Hosting;
using OrleansShards.Grains.Pitr;
using OrleansShards.Benchmarks.Infrastructure;

namespace OrleansShards.Benchmarks.Pitr;

/// <summary>
/// Stopwatch driver for the change log (BenchmarkDotNet is impractical for a 1M-row setup):
/// <c>dotnet run -c Release --project Benchmarks -- pitr [writes|restore]</c>.
/// 1. Write throughput with change capture on vs off, side by side in one run (alternating rounds).
/// 2. Restore of a 1,000,000-row shard to a bookmark 10,000 commits after its last snapshot.
/// </summary>
public static class PitrDriver
{
    public static async Task<int> RunAsync(string[] args)
    {
        var which = args.Length > 0 ? args[0] : "all";
        if (which is "all" or "writes")
        {
            await WriteThroughputAsync(args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 9);
        }

        if (which is "all" or "restore")
        {
            await RestoreAsync();
        }

        return 0;
    }

    /// <summary>
    /// Alternating rounds (off, on) on fresh shards; reports the medians and the median of the per-round ratios
    /// (each pair ran back to back, so it shares the machine's load at that moment — the load on a shared VM
    /// moves the absolute rates by 2× between rounds).
    /// </summary>
    private static async Task WriteThroughputAsync(int rounds)
    {
        const int writers = 64;
        const int perWriter = 300;
        var results = new Dictionary<bool, List<double>> { [false] = [], [true] = [] };
        for (var round = 0; round < rounds; round++)
        {
            foreach (var capture in new[] { false, true })
            {
                var dir = NewDirectory();
                await using var host = await StartAsync(dir, o => o.Enabled = capture);
                var shard = host.Shard;
                await shard.DdlAsync(new DdlRequest("CREATE TABLE items(id INTEGER PRIMARY KEY, name TEXT, qty INTEGER, data BLOB)"));
                var payload = new byte[64];
                var watch = Stopwatch.StartNew();
                await Task.WhenAll(Enumerable.Range(0, writers).Select(w => Task.Run(async () =>
                {
                    for (var i = 0; i < perWriter; i++)
                    {
                        await shard.MutateAsync(new MutationRequest("INSERT INTO items(name, qty, data) VALUES (?, ?, ?)", ["item-" + w + "-" + i, i, payload]));
                    }
                })));
                var opsPerSecond = writers * perWriter / watch.Elapsed.TotalSeconds;
                results[capture].Add(opsPerSecond);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"round {round} capture={capture,-5} {opsPerSecond,10:N0} inserts/s"));
                await host.DisposeAsync();
                Directory.Delete(dir, recursive: true);
            }
        }

        var off = Median(results[false]);
        var on = Median(results[true]);
        var pairRatio = Median([.. results[true].Zip(results[false], (a, b) => a / b)]);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"writes: capture off {off:N0}/s, capture on {on:N0}/s, ratio {on / off:0.00} ({(1 - on / off) * 100:0.0}% slower); median per-round ratio {pairRatio:0.00} ({(1 - pairRatio) * 100:0.0}% slower); {rounds} rounds, {writers} concurrent writers x {perWriter} inserts, synchronous=FULL"));
    }

    private static async Task RestoreAsync()
    {
        const int rows = 1_000_000;
        const int rowsPerBatch = 10_000;
        const int tail = 10_000;
        var dir = NewDirectory();
        var setup = Stopwatch.StartNew();
        await using (var host = await StartAsync(dir, o => o.SnapshotEveryCommits = rows / rowsPerBatch, synchronous: "NORMAL"))
        {
            await host.Shard.DdlAsync(new DdlRequest("CREATE TABLE items(id INTEGER PRIMARY KEY, name TEXT, qty INTEGER, price REAL)"));
            for (var batch = 0; batch < rows / rowsPerBatch; batch++)
            {
                await host.Shard.MutateAsync(new MutationRequest(
                    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < " + rowsPerBatch + ") " +
                    "INSERT INTO items(name, qty, price) SELECT 'item-' || (x + ?), x % 1000, x * 0.25 FROM c", [batch * rowsPerBatch]));
            }

            await host.Shard.RefreshCapacityAsync(); // waits for the snapshot due by count
        }

        var snapshots = new SnapshotStore(Path.Combine(dir, "bench", "items.snapshots")).List();
        var last = snapshots[^1];
        long sequence;
        await using (var host = await StartAsync(dir, o => o.SnapshotEveryCommits = 1_000_000, synchronous: "NORMAL"))
        {
            var random = new Random(1);
            sequence = Bookmark.Parse((await host.Shard.GetBookmarkAsync(new BookmarkRequest())).Bookmark).Sequence;
            while (sequence < last + tail + 1)
            {
                var result = await host.Shard.MutateAsync(new MutationRequest("UPDATE items SET qty = qty + 1, price = ? WHERE id = ?", [random.NextDouble(), random.NextInt64(1, rows + 1)]));
                sequence = Bookmark.Parse(result.Bookmark).Sequence;
            }

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"setup: {rows:N0} rows, snapshot at {last}, {sequence - last} commits after it, db {new FileInfo(Path.Combine(dir, "bench", "items.db")).Length / 1048576.0:0} MB, {setup.Elapsed.TotalSeconds:0} s"));

            var target = last + tail;
            var watch = Stopwatch.StartNew();
            var restore = await host.Shard.RestoreAsync(new RestoreRequest(new Bookmark(target, "bench", "items").ToString()));
            var first = watch.Elapsed;
            var count = await host.Shard.QueryAsync(new QueryRequest("SELECT count(*) FROM items"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"restore: 1M rows to snapshot + {tail:N0} commits in {first.TotalSeconds:0.00} s ({count.Rows[0][0].AsInteger:N0} rows)"));

            watch.Restart();
            await host.Shard.RestoreAsync(new RestoreRequest(restore.UndoBookmark));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"undo:    1M rows to snapshot + {tail + 1:N0} commits in {watch.Elapsed.TotalSeconds:0.00} s"));
        }

        Directory.Delete(dir, recursive: true);
    }

    private static string NewDirectory()
    {
        var dir = Path.Combine(Path.GetTempPath(), "pitr-bench-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted[sorted.Count / 2];
    }

    private static async Task<BenchHost> StartAsync(string dir, Action<PitrOptions> pitr, string synchronous = "FULL")
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.UseShardsSilo(
            dir,
            o =>
            {
                o.Synchronous = synchronous;
                o.StatementTimeout = TimeSpan.FromMinutes(5);
            },
            responseTimeout: TimeSpan.FromMinutes(5));
        builder.Services.ConfigurePitr(pitr);
        var host = builder.Build();
        await host.StartAsync();
        return new BenchHost(host, host.Services.GetRequiredService<IGrainFactory>().GetGrain<ITableShard>(ShardName.Format("bench", "items")));
    }

    private sealed class BenchHost(IHost host, ITableShard shard) : IAsyncDisposable
    {
        private bool _disposed;

        public ITableShard Shard { get; } = shard;

        public async ValueTask DisposeAsync()
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            await host.StopAsync();
            host.Dispose();
        }
    }
}
