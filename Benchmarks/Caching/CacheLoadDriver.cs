using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OrleansShards.Grains.Caching;
using OrleansShards.Grains.Hosting;
using OrleansShards.Benchmarks.Infrastructure;

namespace OrleansShards.Benchmarks.Caching;

/// <summary>
/// Zipf-distributed read-heavy load (95% cached row reads by primary key, 5% updates) against one
/// in-process silo, with the memory cache or Redis (cache and invalidation stream). Reports hit
/// rate, cached-read p50/p95 beside a raw Redis GET from the same process, and invalidation
/// (commit→delete) p50/p95/p99.
/// Run: <c>dotnet run -c Release --project Benchmarks -- cache-load [--redis] [--keys N] [--ops N] [--workers N] [--zipf S] [--hot N]</c>.
/// </summary>
public static class CacheLoadDriver
{
    public static async Task<int> RunAsync(string[] args)
    {
        var useRedis = args.Contains("--redis");
        var keys = Arg(args, "--keys", 10_000);
        var ops = Arg(args, "--ops", 200_000);
        var workers = Arg(args, "--workers", 16);
        var skew = Arg(args, "--zipf", 1.0);
        var hot = Arg(args, "--hot", 1024);
        var dir = Path.Combine(Path.GetTempPath(), "orleansshards-bench-" + Guid.NewGuid().ToString("N")[..8]);
        Process? redis = null;
        string? redisConfig = null;
        if (useRedis)
        {
            var port = FreePort();
            redis = Process.Start(new ProcessStartInfo("redis-server", $"--port {port} --bind 127.0.0.1 --save '' --appendonly no") { RedirectStandardOutput = true, UseShellExecute = false })!;
            redisConfig = $"127.0.0.1:{port},abortConnect=false";
            await WaitForPortAsync(port);
        }

        try
        {
            var builder = Host.CreateApplicationBuilder();
            builder.Logging.ClearProviders();
            builder.UseShardsSilo(dir, o => o.Synchronous = "NORMAL");
            if (redisConfig is not null)
            {
                builder.Services.AddRedisCache(o => o.Configuration = redisConfig);
            }

            builder.Services.AddShardCache(o => o.HotKeys = hot);

            using var host = builder.Build();
            await host.StartAsync();
            var shard = host.Services.GetRequiredService<IGrainFactory>().GetGrain<ITableShard>("bench:items");
            await shard.DdlAsync(new DdlRequest("CREATE TABLE items(id INTEGER PRIMARY KEY, name TEXT, qty INTEGER)"));
            for (var start = 0; start < keys; start += 500)
            {
                var batch = Enumerable.Range(start, Math.Min(500, keys - start))
                    .Select(i => new Statement("INSERT INTO items(id, name, qty) VALUES (?, ?, ?)", [i, "item-" + i, i])).ToList();
                await shard.BatchAsync(new BatchRequest(batch));
            }

            var zipf = new Zipf(keys, skew);

            // Warm every key (the explicit warm call), then measure from the warmed state.
            for (var start = 0; start < keys; start += 500)
            {
                await shard.WarmAsync(new WarmRequest(PrimaryKeys: Enumerable.Range(start, Math.Min(500, keys - start)).Select(i => (SqlValue)i).ToList()));
            }

            // Read-only phase: cached reads and raw Redis GETs at the same concurrency, side by side.
            var readOnly = await MeasureAsync(workers, 20_000, async (random) =>
                await shard.LookupRowsAsync(new RowLookupRequest(PrimaryKey: zipf.Next(random), Consistency: Consistency.Cached)));
            double[]? rawGets = null;
            if (useRedis)
            {
                var db = await ((RedisCacheStore)host.Services.GetRequiredService<ICacheStore>()).GetDatabaseAsync();
                rawGets = await MeasureAsync(workers, 20_000, async (random) =>
                    await db.StringGetAsync("bench:t:items:id:" + zipf.Next(random).ToString(CultureInfo.InvariantCulture)));
            }

            var before = (await shard.GetStatsAsync()).Cache!;
            var cachedLatencies = new List<double>[workers];
            var writes = 0L;
            var clock = Stopwatch.StartNew();
            var perWorker = ops / workers;
            await Task.WhenAll(Enumerable.Range(0, workers).Select(w => Task.Run(async () =>
            {
                var random = new Random(w);
                var samples = cachedLatencies[w] = new List<double>(perWorker);
                for (var i = 0; i < perWorker; i++)
                {
                    var key = zipf.Next(random);
                    if (random.NextDouble() < 0.05)
                    {
                        await shard.MutateAsync(new MutationRequest("UPDATE items SET qty = qty + 1 WHERE id = ?", [key]));
                        Interlocked.Increment(ref writes);
                        continue;
                    }

                    var started = Stopwatch.GetTimestamp();
                    var result = await shard.LookupRowsAsync(new RowLookupRequest(PrimaryKey: key, Consistency: Consistency.Cached));
                    if (result.Meta.ServedBy != "shard")
                    {
                        samples.Add(Stopwatch.GetElapsedTime(started).TotalMicroseconds);
                    }
                }
            }))).ConfigureAwait(false);
            var elapsed = clock.Elapsed;

            // Let the last invalidations land before reading the figures.
            await Task.Delay(500);
            var after = (await shard.GetStatsAsync()).Cache!;
            var stats = after with { Hits = after.Hits - before.Hits, Misses = after.Misses - before.Misses, Stale = after.Stale - before.Stale, Refreshes = after.Refreshes - before.Refreshes };
            var cached = cachedLatencies.SelectMany(l => l).Order().ToArray();
            Console.WriteLine(FormattableString.Invariant($"backend: {(useRedis ? "redis" : "memory")}; keys {keys}, ops {ops}, workers {workers}, zipf s={skew}, hot keys {hot}, writes {writes}, {ops / elapsed.TotalSeconds:0} ops/s"));
            Console.WriteLine(FormattableString.Invariant($"hit rate: {stats.HitRate:P2} (hits {stats.Hits}, stale {stats.Stale}, misses {stats.Misses}, refreshes {stats.Refreshes})"));
            Console.WriteLine(FormattableString.Invariant($"cached read under the 95/5 load: p50 {Pct(cached, 0.50):0.0} us, p95 {Pct(cached, 0.95):0.0} us"));
            Console.WriteLine(FormattableString.Invariant($"cached read, read-only, {workers} workers: p50 {Pct(readOnly, 0.50):0.0} us, p95 {Pct(readOnly, 0.95):0.0} us"));
            if (rawGets is not null)
            {
                Console.WriteLine(FormattableString.Invariant($"raw Redis GET, same process, {workers} workers: p50 {Pct(rawGets, 0.50):0.0} us, p95 {Pct(rawGets, 0.95):0.0} us; ratio cached/raw p50 {Pct(readOnly, 0.50) / Pct(rawGets, 0.50):0.00}, p95 {Pct(readOnly, 0.95) / Pct(rawGets, 0.95):0.00}"));
            }

            Console.WriteLine(FormattableString.Invariant($"invalidation commit->delete: p50 {stats.InvalidationP50Ms:0.0} ms, p95 {stats.InvalidationP95Ms:0.0} ms, p99 {stats.InvalidationP99Ms:0.0} ms ({stats.Invalidations} keys)"));
            await host.StopAsync();
            return 0;
        }
        finally
        {
            if (redis is { HasExited: false })
            {
                redis.Kill();
                await redis.WaitForExitAsync();
            }

            try
            {
                Directory.Delete(dir, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    private static async Task<double[]> MeasureAsync(int workers, int total, Func<Random, Task> operation)
    {
        var samples = new double[workers][];
        await Task.WhenAll(Enumerable.Range(0, workers).Select(w => Task.Run(async () =>
        {
            var random = new Random(1000 + w);
            var mine = samples[w] = new double[total / workers];
            for (var i = 0; i < mine.Length; i++)
            {
                var started = Stopwatch.GetTimestamp();
                await operation(random);
                mine[i] = Stopwatch.GetElapsedTime(started).TotalMicroseconds;
            }
        })));
        return samples.SelectMany(s => s).Order().ToArray();
    }

    private static double Pct(double[] sorted, double q) => sorted.Length == 0 ? 0 : sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(q * sorted.Length) - 1)];

    private static T Arg<T>(string[] args, string name, T fallback)
        where T : IParsable<T>
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? T.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static async Task WaitForPortAsync(int port)
    {
        for (var i = 0; i < 250; i++)
        {
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, port);
                return;
            }
            catch (SocketException)
            {
                await Task.Delay(20);
            }
        }

        throw new InvalidOperationException("redis-server did not start");
    }

    /// <summary>Zipf(s) over [0, n) by inverse CDF on a precomputed table.</summary>
    private sealed class Zipf
    {
        private readonly double[] _cdf;

        public Zipf(int n, double s)
        {
            _cdf = new double[n];
            double sum = 0;
            for (var i = 0; i < n; i++)
            {
                sum += 1.0 / Math.Pow(i + 1, s);
                _cdf[i] = sum;
            }

            for (var i = 0; i < n; i++)
            {
                _cdf[i] /= sum;
            }
        }

        public int Next(Random random)
        {
            var index = Array.BinarySearch(_cdf, random.NextDouble());
            return Math.Min(_cdf.Length - 1, index < 0 ? ~index : index);
        }
    }
}
