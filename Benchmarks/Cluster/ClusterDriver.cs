using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using OrleansShards.Tests.Cluster;
using OrleansShards.Tests.Infrastructure;

namespace OrleansShards.Benchmarks.Cluster;

/// <summary>
/// Cluster figures with real processes: a redis-server and three silos on 127.0.0.1.
/// <c>dotnet run -c Release --project Benchmarks -- cluster [--requests N] [--rows N]</c>
/// 1. point select and insert through the primary's silo vs through another silo (the hop), side by side;
/// 2. kill -9 of a silo: time to the first UNAVAILABLE for its shard through another silo, and to its "dead" status;
/// 3. drain of a silo holding a table of <c>--rows</c> rows under a writer: duration, rows/s, longest write (cold: the
///    processes' first move); then, once every process has moved shards, a move of the same table under the writer
///    (warm). Set <c>ORLEANSSHARDS_SILO_DLL</c> to run a published silo (deploy/Dockerfile's ReadyToRun build) instead.
/// </summary>
internal static class ClusterDriver
{
    public static async Task<int> RunAsync(string[] args)
    {
        var requests = IntArg(args, "--requests", 2000);
        var rows = IntArg(args, "--rows", 50_000);
        var root = Path.Combine(Path.GetTempPath(), "orleansshards-cluster-bench-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(root);
        var redisPort = FreePorts.Next();
        using var redis = Process.Start(new ProcessStartInfo("redis-server", $"--port {redisPort} --bind 127.0.0.1 --save '' --appendonly no") { RedirectStandardOutput = true, UseShellExecute = false })!;
        var silos = new List<SiloProcess>();
        try
        {
            await WaitForPortAsync(redisPort);
            var redisConfig = $"127.0.0.1:{redisPort},abortConnect=false";
            for (var i = 1; i <= 3; i++)
            {
                silos.Add(SiloProcess.Start(redisConfig, "bench", "s" + i, Path.Combine(root, "s" + i)));
            }

            foreach (var silo in silos)
            {
                await silo.WaitForActiveSilosAsync(3, TimeSpan.FromSeconds(90));
            }

            Console.WriteLine($"# cluster figures: 3 silo processes + redis-server on 127.0.0.1, {Environment.ProcessorCount} cores, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC");
            await HopAsync(silos, requests);
            await DrainAsync(silos, rows);
            await KillAsync(silos);
            return 0;
        }
        catch when (Environment.GetEnvironmentVariable("ORLEANSSHARDS_BENCH_LOGS") == "1")
        {
            foreach (var silo in silos)
            {
                Console.WriteLine($"--- {silo.Name}");
                Console.WriteLine(silo.Tail(int.Parse(Environment.GetEnvironmentVariable("ORLEANSSHARDS_BENCH_TAIL") ?? "80")));
            }

            throw;
        }
        finally
        {
            foreach (var silo in silos)
            {
                await silo.DisposeAsync();
            }

            redis.Kill();
            try
            {
                Directory.Delete(root, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    private static async Task HopAsync(List<SiloProcess> silos, int requests)
    {
        await Check(silos[0].PostAsync("/v1/tables/hop/ddl", new { query = "CREATE TABLE hop(id INTEGER PRIMARY KEY, v TEXT)" }));
        var primaryName = (await silos[0].GetAsync("/v1/tables/hop/placement")).Body.GetProperty("primary").GetString();
        var owner = silos.First(s => s.Name == primaryName);
        var other = silos.First(s => s != owner);
        for (var i = 0; i < 200; i++)
        {
            await Check(owner.PostAsync("/v1/tables/hop/mutation", new { query = "INSERT INTO hop(id, v) VALUES (?, 'x')", @params = new object[] { i } }));
        }

        // Alternate blocks so both paths see the same machine state.
        var select = new { query = "SELECT v FROM hop WHERE id = ?", @params = new object[] { 7 } };
        var selectOwner = new List<double>();
        var selectOther = new List<double>();
        var insertOwner = new List<double>();
        var insertOther = new List<double>();
        var next = 1000;
        for (var block = 0; block < requests / 100; block++)
        {
            await TimeAsync(owner, "/v1/tables/hop/query", _ => select, 50, selectOwner);
            await TimeAsync(other, "/v1/tables/hop/query", _ => select, 50, selectOther);
            await TimeAsync(owner, "/v1/tables/hop/mutation", _ => new { query = "INSERT INTO hop(id, v) VALUES (?, 'y')", @params = new object[] { next++ } }, 50, insertOwner);
            await TimeAsync(other, "/v1/tables/hop/mutation", _ => new { query = "INSERT INTO hop(id, v) VALUES (?, 'y')", @params = new object[] { next++ } }, 50, insertOther);
        }

        Console.WriteLine();
        Console.WriteLine("| HTTP request, one caller | through the primary's silo | through another silo | ratio (other / primary) |");
        Console.WriteLine("|---|---|---|---|");
        Row("point select, p50", selectOwner, selectOther, 0.50);
        Row("point select, p99", selectOwner, selectOther, 0.99);
        Row("insert, p50", insertOwner, insertOther, 0.50);
        Row("insert, p99", insertOwner, insertOther, 0.99);
    }

    private static async Task DrainAsync(List<SiloProcess> silos, int rows)
    {
        await Check(silos[0].PostAsync("/v1/tables/big/ddl", new { query = "CREATE TABLE big(id INTEGER PRIMARY KEY, v TEXT)" }));
        for (var start = 0; start < rows; start += 500)
        {
            var statements = Enumerable.Range(start, Math.Min(500, rows - start))
                .Select(i => new { query = "INSERT INTO big(id, v) VALUES (?, ?)", @params = new object[] { i, "row-" + i + new string('x', 40) } }).ToArray();
            await Check(silos[0].PostAsync("/v1/tables/big/batch", new { statements }));
        }

        // Every silo serves shards before the drain, as in service: the first shard a fresh process opens and writes also
        // pays for compiling that code (tens of ms, seen as the first commit's time on the drain's target), which is not
        // the switch's cost. New shards go to the silo with the fewest primaries, so these spread over the three.
        for (var t = 0; t < silos.Count; t++)
        {
            await Check(silos[t].PostAsync($"/v1/tables/warm{t}/ddl", new { query = $"CREATE TABLE warm{t}(id INTEGER PRIMARY KEY, v TEXT)" }));
            for (var i = 0; i < 300; i++)
            {
                await Check(silos[i % silos.Count].PostAsync($"/v1/tables/warm{t}/mutation", new { query = $"INSERT INTO warm{t}(id, v) VALUES (?, 'w')", @params = new object[] { i }, idempotencyKey = $"warm{t}-{i}" }));
                await Check(silos[i % silos.Count].PostAsync($"/v1/tables/warm{t}/query", new { query = $"SELECT v FROM warm{t} WHERE id = ?", @params = new object[] { i } }));
            }
        }

        var primaryName = (await silos[0].GetAsync("/v1/tables/big/placement")).Body.GetProperty("primary").GetString();
        var drained = silos.First(s => s.Name == primaryName);
        var via = silos.First(s => s != drained);

        // 1. Cold: the first move these processes make, as a drain right after a deploy is. A writer on the same table
        // through another silo: its longest write is the switch's stall as a caller sees it.
        var writer = StalledWriter.Start(via, "big", rows + 1);
        await Task.Delay(300);
        var drainWatch = Stopwatch.StartNew();
        var (_, start2) = await via.PostAsync("/v1/cluster/drain", new { silo = drained.Name });
        var id2 = start2.GetProperty("operationId").GetString();
        string state;
        do
        {
            await Task.Delay(20);
            state = (await via.GetClusterOperationAsync(id2!)).Body.GetProperty("state").GetString()!;
        }
        while (state == "running");
        var drainMs = drainWatch.Elapsed.TotalMilliseconds;
        await Task.Delay(300);
        var cold = await writer.StopAsync();
        var count = (await via.PostAsync("/v1/tables/big/query", new { query = "SELECT count(*) FROM big" })).Body.GetProperty("rows")[0][0].GetInt64();
        var size = (await via.GetAsync("/v1/tables/big/stats")).Body.GetProperty("sizeBytes").GetInt64();

        // 2. Warm: every process has now run the hand-over's code once each way (moves of the small tables round the
        // three silos under a writer), as a silo that has moved shards before has. Then big moves again, under the writer.
        for (var t = 0; t < silos.Count; t++)
        {
            var warmWriter = StalledWriter.Start(silos[t], $"warm{t}", 10_000);
            for (var k = 0; k < silos.Count; k++)
            {
                var from = (await Check(via.GetAsync($"/v1/tables/warm{t}/placement"))).Body.GetProperty("primary").GetString();
                var to = silos[(silos.FindIndex(s => s.Name == from) + 1) % silos.Count].Name;
                await Check(via.PostAsync($"/v1/tables/warm{t}/move", new { silo = to }));
            }

            await warmWriter.StopAsync();
        }

        var bigPrimary = (await via.GetAsync("/v1/tables/big/placement")).Body.GetProperty("primary").GetString();
        var moveTarget = silos.First(s => s.Name != bigPrimary && s != drained).Name;
        writer = StalledWriter.Start(via, "big", rows + 1_000_000);
        await Task.Delay(300);
        var moveWatch = Stopwatch.StartNew();
        var (_, move) = await Check(via.PostAsync("/v1/tables/big/move", new { silo = moveTarget }));
        var moveMs = moveWatch.Elapsed.TotalMilliseconds;
        await Task.Delay(300);
        var warm = await writer.StopAsync();

        Console.WriteLine();
        Console.WriteLine("| drain of the silo holding a table under a writer | value |");
        Console.WriteLine("|---|---|");
        Console.WriteLine($"| state | {state} |");
        Console.WriteLine($"| table | {count:N0} rows, {size / 1024.0 / 1024.0:0.0} MiB |");
        Console.WriteLine($"| drain duration (request → completed) | {drainMs:0} ms |");
        Console.WriteLine($"| drain throughput | {count / (drainMs / 1000):N0} rows/s |");
        Console.WriteLine($"| longest write during the drain, cold: the processes' first move (goal < 100 ms) | {cold.Longest:0} ms over {cold.Writes} writes |");
        Console.WriteLine($"| longest write during a move of the same table, warm: after each process moved shards (goal < 100 ms) | {warm.Longest:0} ms over {warm.Writes} writes |");
        Console.WriteLine($"| that move: duration, writes held at the switch (as the old primary measured it) | {moveMs:0} ms, {move.GetProperty("stallMs").GetDouble():0.0} ms |");
        Console.WriteLine();
        if (Environment.GetEnvironmentVariable("ORLEANSSHARDS_BENCH_LOGS") == "1")
        {
            foreach (var silo in silos)
            {
                Console.WriteLine($"--- {silo.Name}");
                Console.WriteLine(silo.Tail(int.Parse(Environment.GetEnvironmentVariable("ORLEANSSHARDS_BENCH_TAIL") ?? "80")));
            }
        }

        Console.WriteLine("The longest write's attempts, cold (answer, time since its first attempt): " + cold.Describe());
        Console.WriteLine("The longest write's attempts, warm: " + warm.Describe());
    }

    /// <summary>
    /// One writer inserting rows one at a time into a table through a silo, each write retried (same idempotency key)
    /// until acknowledged: its longest write, first attempt to acknowledgement, is a switch's stall as a caller sees it.
    /// </summary>
    private sealed class StalledWriter
    {
        private readonly CancellationTokenSource _stop = new();
        private Task _running = Task.CompletedTask;

        public double Longest { get; private set; }

        public int Writes { get; private set; }

        public List<string> LongestAttempts { get; private set; } = [];

        public static StalledWriter Start(SiloProcess via, string table, int firstId)
        {
            var writer = new StalledWriter();
            writer._running = Task.Run(() => writer.RunAsync(via, table, firstId));
            return writer;
        }

        public async Task<StalledWriter> StopAsync()
        {
            _stop.Cancel();
            await _running;
            _stop.Dispose();
            return this;
        }

        public string Describe() =>
            string.Join("; ", LongestAttempts.Take(12)) + (LongestAttempts.Count > 12 ? $"; … {LongestAttempts.Count} attempts" : "");

        private async Task RunAsync(SiloProcess via, string table, int id)
        {
            while (!_stop.IsCancellationRequested)
            {
                var watch = Stopwatch.StartNew();
                var key = $"{table}-w{id}";
                var attempts = new List<string> { $"started {DateTime.UtcNow:HH:mm:ss.fff}" };
                while (true)
                {
                    var sent = watch.Elapsed.TotalMilliseconds;
                    var (status, body) = await via.PostAsync($"/v1/tables/{table}/mutation", new { query = $"INSERT INTO {table}(id, v) VALUES (?, 'w')", @params = new object[] { id }, idempotencyKey = key });
                    attempts.Add($"sent at {sent:0} ms, {status} at {watch.Elapsed.TotalMilliseconds:0} ms{(status == 200 ? "" : ": " + (body.TryGetProperty("error", out var e) && e.TryGetProperty("message", out var m) ? m.GetString() : body.ToString()))}");
                    if (status == 200)
                    {
                        break;
                    }

                    await Task.Delay(5);
                }

                id++;
                Writes++;
                if (watch.Elapsed.TotalMilliseconds > Longest)
                {
                    Longest = watch.Elapsed.TotalMilliseconds;
                    LongestAttempts = attempts;
                }
            }
        }
    }

    private static async Task KillAsync(List<SiloProcess> silos)
    {
        var alive = silos.Where(s => !s.HasExited).ToList();
        await Check(alive[0].PostAsync("/v1/tables/victim/ddl", new { query = "CREATE TABLE victim(id INTEGER PRIMARY KEY)" }));
        var primaryName = (await alive[0].GetAsync("/v1/tables/victim/placement")).Body.GetProperty("primary").GetString();
        var victim = alive.First(s => s.Name == primaryName);
        var via = alive.First(s => s != victim);
        victim.Kill();
        var watch = Stopwatch.StartNew();
        double? unavailableMs = null;
        double? deadMs = null;
        while (watch.Elapsed < TimeSpan.FromSeconds(60) && (unavailableMs is null || deadMs is null))
        {
            if (unavailableMs is null)
            {
                var (status, body) = await via.PostAsync("/v1/tables/victim/query", new { query = "SELECT 1" });
                if (status == 503 && body.GetProperty("error").GetProperty("code").GetString() == "UNAVAILABLE")
                {
                    unavailableMs = watch.Elapsed.TotalMilliseconds;
                }
            }

            if (deadMs is null)
            {
                var (_, cluster) = await via.GetAsync("/v1/cluster");
                if (cluster.GetProperty("silos").EnumerateArray().Any(s => s.GetProperty("name").GetString() == victim.Name && s.GetProperty("status").GetString() == "dead"))
                {
                    deadMs = watch.Elapsed.TotalMilliseconds;
                }
            }

            await Task.Delay(10);
        }

        Console.WriteLine();
        Console.WriteLine("| kill -9 of a primary's silo | value |");
        Console.WriteLine("|---|---|");
        Console.WriteLine($"| first UNAVAILABLE for its shard through another silo | {unavailableMs:0} ms |");
        Console.WriteLine($"| the silo listed dead by the cluster | {deadMs:0} ms |");
    }

    private static async Task TimeAsync(SiloProcess silo, string path, Func<int, object> body, int count, List<double> into)
    {
        for (var i = 0; i < count; i++)
        {
            var watch = Stopwatch.StartNew();
            await Check(silo.PostAsync(path, body(i)));
            into.Add(watch.Elapsed.TotalMilliseconds);
        }
    }

    private static void Row(string what, List<double> owner, List<double> other, double quantile)
    {
        var a = Quantile(owner, quantile);
        var b = Quantile(other, quantile);
        Console.WriteLine($"| {what} | {a:0.000} ms | {b:0.000} ms | {b / a:0.00} |");
    }

    private static double Quantile(List<double> values, double q)
    {
        var sorted = values.Order().ToList();
        return sorted[Math.Min(sorted.Count - 1, (int)(q * sorted.Count))];
    }

    internal static async Task<(int Status, JsonElement Body)> Check(Task<(int Status, JsonElement Body)> call)
    {
        var (status, body) = await call;
        if (status != 200)
        {
            throw new InvalidOperationException($"{status} {body}");
        }

        return (status, body);
    }

    internal static int IntArg(string[] args, string name, int fallback)
    {
        var index = Array.IndexOf(args, name);
        return index >= 0 && index + 1 < args.Length ? int.Parse(args[index + 1], CultureInfo.InvariantCulture) : fallback;
    }

    internal static async Task WaitForPortAsync(int port)
    {
        for (var i = 0; i < 500; i++)
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
}
