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
/// 3. drain of a silo holding a table of <c>--rows</c> rows under a writer: duration, rows/s, longest write.
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

        // A writer on the same table through another silo: its longest write is the switch's stall as a caller sees it.
        using var stop = new CancellationTokenSource();
        var longest = 0.0;
        List<string> longestAttempts = [];
        var writes = 0;
        var writer = Task.Run(async () =>
        {
            var id = rows + 1;
            while (!stop.IsCancellationRequested)
            {
                var watch = Stopwatch.StartNew();
                var key = "w" + id;
                var attempts = new List<string> { $"started {DateTime.UtcNow:HH:mm:ss.fff}" };
                while (true)
                {
                    var sent = watch.Elapsed.TotalMilliseconds;
                    var (status, body) = await via.PostAsync("/v1/tables/big/mutation", new { query = "INSERT INTO big(id, v) VALUES (?, 'w')", @params = new object[] { id }, idempotencyKey = key });
                    attempts.Add($"sent at {sent:0} ms, {status} at {watch.Elapsed.TotalMilliseconds:0} ms{(status == 200 ? "" : ": " + (body.TryGetProperty("error", out var e) && e.TryGetProperty("message", out var m) ? m.GetString() : body.ToString()))}");
                    if (status == 200)
                    {
                        break;
                    }

                    await Task.Delay(5);
                }

                id++;
                writes++;
                if (watch.Elapsed.TotalMilliseconds > longest)
                {
                    longest = watch.Elapsed.TotalMilliseconds;
                    longestAttempts = attempts;
                }
            }
        });

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
        stop.Cancel();
        await writer;
        var count = (await via.PostAsync("/v1/tables/big/query", new { query = "SELECT count(*) FROM big" })).Body.GetProperty("rows")[0][0].GetInt64();
        var size = (await via.GetAsync("/v1/tables/big/stats")).Body.GetProperty("sizeBytes").GetInt64();
        Console.WriteLine();
        Console.WriteLine("| drain of the silo holding a table under a writer | value |");
        Console.WriteLine("|---|---|");
        Console.WriteLine($"| state | {state} |");
        Console.WriteLine($"| table | {count:N0} rows, {size / 1024.0 / 1024.0:0.0} MiB |");
        Console.WriteLine($"| drain duration (request → completed) | {drainMs:0} ms |");
        Console.WriteLine($"| drain throughput | {count / (drainMs / 1000):N0} rows/s |");
        Console.WriteLine($"| longest write during the drain (goal < 100 ms) | {longest:0} ms over {writes} writes |");
        Console.WriteLine();
        if (Environment.GetEnvironmentVariable("ORLEANSSHARDS_BENCH_LOGS") == "1")
        {
            foreach (var silo in silos)
            {
                Console.WriteLine($"--- {silo.Name}");
                Console.WriteLine(silo.Tail(int.Parse(Environment.GetEnvironmentVariable("ORLEANSSHARDS_BENCH_TAIL") ?? "80")));
            }
        }

        Console.WriteLine("The longest write's attempts (answer, time since its first attempt): " + string.Join("; ", longestAttempts.Take(12)) + (longestAttempts.Count > 12 ? $"; … {longestAttempts.Count} attempts" : ""));
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

    internal static async Task Check(Task<(int Status, JsonElement Body)> call)
    {
        var (status, body) = await call;
        if (status != 200)
        {
            throw new InvalidOperationException($"{status} {body}");
        }
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
