using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using OrleansShards.Tests.Cluster;
using OrleansShards.Tests.Infrastructure;

namespace OrleansShards.Benchmarks.Cluster;

/// <summary>
/// Replication figures with real processes, side by side in one run: a redis-server and three silos on 127.0.0.1
/// started with <c>ReplicationFactor</c> 1, then three new ones with 3.
/// <c>dotnet run -c Release --project Benchmarks -- replication [--seconds N] [--rows N]</c>
/// 1. inserts over HTTP through a silo that is not the primary, 1 and 64 concurrent writers: throughput, p50, p99;
/// 2. (R=3) kill -9 of the primary's silo under a writer retrying with idempotency keys: time to the first
///    acknowledged write after the kill;
/// 3. (R=3) catch-up: a replica's silo is stopped, <c>--rows</c> rows are written, it restarts; time until its
///    replica holds the primary's sequence, rows/s.
/// </summary>
internal static class ReplicationDriver
{
    public static async Task<int> RunAsync(string[] args)
    {
        var seconds = ClusterDriver.IntArg(args, "--seconds", 10);
        var rows = ClusterDriver.IntArg(args, "--rows", 20_000);
        Console.WriteLine($"# replication figures: 3 silo processes + redis-server on 127.0.0.1, {Environment.ProcessorCount} cores, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {seconds} s per load");
        var results = new Dictionary<int, List<(string What, double Throughput, double P50, double P99)>>();
        foreach (var factor in new[] { 1, 3 })
        {
            await using var cluster = await BenchCluster.StartAsync(factor);
            results[factor] = await ThroughputAsync(cluster, seconds);
            if (factor == 3)
            {
                await FailoverAsync(cluster);
                await CatchUpAsync(cluster, rows);
            }
        }

        Console.WriteLine();
        Console.WriteLine("| inserts over HTTP (through a non-primary silo) | R=1 req/s | R=3 req/s | R=3 / R=1 | R=1 p50 / p99 ms | R=3 p50 / p99 ms |");
        Console.WriteLine("|---|---|---|---|---|---|");
        for (var i = 0; i < results[1].Count; i++)
        {
            var one = results[1][i];
            var three = results[3][i];
            Console.WriteLine(FormattableString.Invariant(
                $"| {one.What} | {one.Throughput:N0} | {three.Throughput:N0} | {three.Throughput / one.Throughput:0.00} | {one.P50:0.0} / {one.P99:0.0} | {three.P50:0.0} / {three.P99:0.0} |"));
        }

        return 0;
    }

    private static async Task<List<(string, double, double, double)>> ThroughputAsync(BenchCluster cluster, int seconds)
    {
        var via = cluster.Silos[0];
        await ClusterDriver.Check(via.PostAsync("/v1/tables/load/ddl", new { query = "CREATE TABLE load(id INTEGER PRIMARY KEY, v TEXT)" }));
        var primary = (await via.GetAsync("/v1/tables/load/placement")).Body.GetProperty("primary").GetString();
        via = cluster.Silos.First(s => s.Name != primary);
        var results = new List<(string, double, double, double)>();
        var next = 0L;
        foreach (var writers in new[] { 1, 64 })
        {
            var latencies = new List<double>[writers];
            var deadline = Stopwatch.StartNew();
            await Task.WhenAll(Enumerable.Range(0, writers).Select(w => Task.Run(async () =>
            {
                var mine = latencies[w] = [];
                while (deadline.Elapsed < TimeSpan.FromSeconds(seconds))
                {
                    var id = Interlocked.Increment(ref next);
                    var watch = Stopwatch.StartNew();
                    await ClusterDriver.Check(via.PostAsync("/v1/tables/load/mutation", new { query = "INSERT INTO load(id, v) VALUES (?, 'payload-of-forty-bytes-xxxxxxxxxxxxxxxxx')", @params = new object[] { id } }));
                    mine.Add(watch.Elapsed.TotalMilliseconds);
                }
            })));
            var all = latencies.SelectMany(l => l).Order().ToList();
            results.Add(($"{writers} writer{(writers == 1 ? "" : "s")}", all.Count / deadline.Elapsed.TotalSeconds, Quantile(all, 0.50), Quantile(all, 0.99)));
        }

        return results;
    }

    private static async Task FailoverAsync(BenchCluster cluster)
    {
        var first = cluster.Silos[0];
        await ClusterDriver.Check(first.PostAsync("/v1/tables/fo/ddl", new { query = "CREATE TABLE fo(id INTEGER PRIMARY KEY)" }));
        var primaryName = (await first.GetAsync("/v1/tables/fo/placement")).Body.GetProperty("primary").GetString();
        var victim = cluster.Silos.First(s => s.Name == primaryName);
        var via = cluster.Silos.First(s => s != victim);
        for (var i = 0; i < 50; i++)
        {
            await ClusterDriver.Check(via.PostAsync("/v1/tables/fo/mutation", new { query = "INSERT INTO fo(id) VALUES (?)", @params = new object[] { i } }));
        }

        victim.Kill();
        var watch = Stopwatch.StartNew();
        var attempts = 0;
        while (watch.Elapsed < TimeSpan.FromSeconds(60))
        {
            attempts++;
            try
            {
                var (status, _) = await via.PostAsync("/v1/tables/fo/mutation", new { query = "INSERT INTO fo(id) VALUES (?)", @params = new object[] { 1000 }, idempotencyKey = "after-kill" });
                if (status == 200)
                {
                    break;
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
            }

            await Task.Delay(50);
        }

        var failoverMs = watch.Elapsed.TotalMilliseconds;
        var count = (await via.PostAsync("/v1/tables/fo/query", new { query = "SELECT count(*) FROM fo" })).Body.GetProperty("rows")[0][0].GetInt64();
        Console.WriteLine();
        Console.WriteLine("| R=3: kill -9 of the primary's silo | value |");
        Console.WriteLine("|---|---|");
        Console.WriteLine(FormattableString.Invariant($"| first acknowledged write after the kill (goal ≤ 10 s) | {failoverMs:0} ms ({attempts} attempts) |"));
        Console.WriteLine(FormattableString.Invariant($"| rows afterwards (51 acknowledged) | {count} |"));
        cluster.Restart(victim);
        await cluster.WaitFormedAsync();
    }

    private static async Task CatchUpAsync(BenchCluster cluster, int rows)
    {
        var first = cluster.Silos[0];
        await ClusterDriver.Check(first.PostAsync("/v1/tables/cu/ddl", new { query = "CREATE TABLE cu(id INTEGER PRIMARY KEY, v TEXT)" }));
        var placement = (await first.GetAsync("/v1/tables/cu/placement")).Body;
        var primaryName = placement.GetProperty("primary").GetString();
        var replicaName = placement.GetProperty("replicas").EnumerateArray().First().GetProperty("silo").GetString();
        var stopped = cluster.Silos.First(s => s.Name == replicaName);
        var via = cluster.Silos.First(s => s.Name == primaryName);
        stopped.Kill();

        // Written while the replica is away: the other replica and the primary make the majority.
        for (var start = 0; start < rows; start += 500)
        {
            var statements = Enumerable.Range(start, Math.Min(500, rows - start))
                .Select(i => new { query = "INSERT INTO cu(id, v) VALUES (?, ?)", @params = new object[] { i, "row-" + i + new string('x', 40) } }).ToArray();
            await ClusterDriver.Check(via.PostAsync("/v1/tables/cu/batch", new { statements }));
        }

        var returned = cluster.Restart(stopped);
        await cluster.WaitFormedAsync();
        var watch = Stopwatch.StartNew();
        long applied = -1;
        long sequence = 0;
        while (watch.Elapsed < TimeSpan.FromSeconds(120))
        {
            // A write makes the primary ship to the returned replica (it catches up from the log tail or is seeded).
            await ClusterDriver.Check(via.PostAsync("/v1/tables/cu/mutation", new { query = "INSERT INTO cu(id, v) VALUES (?, 'tick')", @params = new object[] { rows + (int)watch.ElapsedMilliseconds } }));
            var now = (await via.GetAsync("/v1/tables/cu/placement")).Body;
            var replicas = now.GetProperty("replicas").EnumerateArray().ToList();
            sequence = replicas.Max(r => r.GetProperty("appliedSeq").GetInt64());
            applied = replicas.First(r => r.GetProperty("silo").GetString() == returned.Name).GetProperty("appliedSeq").GetInt64();
            if (applied == sequence)
            {
                break;
            }

            await Task.Delay(20);
        }

        var ms = watch.Elapsed.TotalMilliseconds;
        Console.WriteLine();
        Console.WriteLine("| R=3: catch-up of a replica's silo after it missed writes | value |");
        Console.WriteLine("|---|---|");
        Console.WriteLine(FormattableString.Invariant($"| rows written while it was away | {rows:N0} ({rows / 500} batches) |"));
        Console.WriteLine(FormattableString.Invariant($"| restart (formed) → replica at the primary's sequence {sequence} | {ms:0} ms (replica at {applied}) |"));
        Console.WriteLine(FormattableString.Invariant($"| catch-up rate | {rows / (ms / 1000):N0} rows/s |"));
    }

    private static double Quantile(List<double> sorted, double q) => sorted.Count == 0 ? 0 : sorted[Math.Min(sorted.Count - 1, (int)(q * sorted.Count))];

    /// <summary>A redis-server and three silo processes with one replication factor, stopped on dispose.</summary>
    private sealed class BenchCluster : IAsyncDisposable
    {
        private readonly Process _redis;
        private readonly string _root;
        private readonly string _redisConfig;
        private readonly Dictionary<string, string> _settings;

        private BenchCluster(Process redis, string root, string redisConfig, int factor)
        {
            _redis = redis;
            _root = root;
            _redisConfig = redisConfig;
            // The per-tenant request rate (5,000/s by default) would cap the 64-writer load, not the store.
            _settings = new()
            {
                ["Shards__Cluster__ReplicationFactor"] = factor.ToString(CultureInfo.InvariantCulture),
                ["Shards__Limits__RequestsPerWindow"] = "1000000",
                ["Shards__Limits__RequestBurst"] = "1000000",
            };
        }

        public List<SiloProcess> Silos { get; } = [];

        public static async Task<BenchCluster> StartAsync(int factor)
        {
            var root = Path.Combine(Path.GetTempPath(), "orleansshards-repl-bench-" + Guid.NewGuid().ToString("N")[..8]);
            Directory.CreateDirectory(root);
            var port = FreePorts.Next();
            var redis = Process.Start(new ProcessStartInfo("redis-server", $"--port {port} --bind 127.0.0.1 --save '' --appendonly no") { RedirectStandardOutput = true, UseShellExecute = false })!;
            await ClusterDriver.WaitForPortAsync(port);
            var cluster = new BenchCluster(redis, root, $"127.0.0.1:{port},abortConnect=false", factor);
            for (var i = 1; i <= 3; i++)
            {
                cluster.Silos.Add(cluster.Start("s" + i));
            }

            await cluster.WaitFormedAsync();
            return cluster;
        }

        private SiloProcess Start(string name) => SiloProcess.Start(_redisConfig, "bench", name, Path.Combine(_root, name), _settings);

        /// <summary>Starts a stopped silo again with its name and data directory.</summary>
        public SiloProcess Restart(SiloProcess stopped)
        {
            var index = Silos.IndexOf(stopped);
            var silo = Start(stopped.Name);
            Silos[index] = silo;
            _ = stopped.DisposeAsync().AsTask();
            return silo;
        }

        public async Task WaitFormedAsync()
        {
            foreach (var silo in Silos)
            {
                await silo.WaitForActiveSilosAsync(3, TimeSpan.FromSeconds(90));
            }
        }

        public async ValueTask DisposeAsync()
        {
            foreach (var silo in Silos)
            {
                await silo.DisposeAsync();
            }

            _redis.Kill();
            try
            {
                Directory.Delete(_root, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }
}
