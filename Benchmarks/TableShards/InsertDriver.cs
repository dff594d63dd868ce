using System.Diagnostics;
using System.Globalization;
using Microsoft.Data.Sqlite;

namespace OrleansShards.Benchmarks.TableShards;

/// <summary>
/// Stopwatch driver for inserts, side by side in one process on one disk:
/// <c>dotnet run -c Release --project Benchmarks -- inserts [lone|http|group|all] [rounds]</c>.
/// lone: one insert at a time, grain and raw autocommit interleaved, then each back to back; per-insert latencies (p50, mean).
/// http: the silo and the minimal endpoint, insert and point select: interleaved request by request, back to back in
/// rounds of 2,000, and back to back in alternating blocks of 200.
/// group: 64 inserters x 8 inserts per round, grain group commit vs raw commit per insert, alternating rounds.
/// </summary>
public static class InsertDriver
{
    public static async Task<int> RunAsync(string[] args)
    {
        var which = args.Length > 0 ? args[0] : "all";
        var rounds = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 5;
        if (which is "all" or "http")
        {
            await HttpAsync(rounds);
            if (which == "http")
            {
                return 0;
            }
        }

        await using var host = await ShardBenchmarkHost.StartAsync();
        using var raw = host.OpenRaw();
        if (which is "all" or "lone")
        {
            await LoneAsync(host, raw, rounds);
        }

        if (which is "all" or "group")
        {
            await GroupAsync(host, raw, rounds);
        }

        return 0;
    }

    private static async Task LoneAsync(ShardBenchmarkHost host, SqliteConnection raw, int rounds)
    {
        const int perRound = 2000;
        using var insert = raw.CreateCommand();
        insert.CommandText = "INSERT INTO items(name, qty) VALUES ($name, 1)";
        var name = insert.Parameters.Add("$name", SqliteType.Text);
        insert.Prepare();
        var grain = new List<double>();
        var rawTimes = new List<double>();
        for (var i = 0; i < 500; i++)
        {
            await host.Shard.MutateAsync(new MutationRequest("INSERT INTO items(name, qty) VALUES (?, 1)", ["warm"]));
            name.Value = "warm";
            insert.ExecuteNonQuery();
        }

        for (var round = 0; round < rounds; round++)
        {
            var g = new List<double>(perRound);
            var r = new List<double>(perRound);
            for (var i = 0; i < perRound; i++)
            {
                var start = Stopwatch.GetTimestamp();
                await host.Shard.MutateAsync(new MutationRequest("INSERT INTO items(name, qty) VALUES (?, 1)", ["grain"]));
                g.Add(Stopwatch.GetElapsedTime(start).TotalMicroseconds);
                start = Stopwatch.GetTimestamp();
                name.Value = "raw";
                insert.ExecuteNonQuery();
                r.Add(Stopwatch.GetElapsedTime(start).TotalMicroseconds);
            }

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"lone round {round}: grain p50 {Percentile(g, 0.5):0} us mean {g.Average():0} us | raw p50 {Percentile(r, 0.5):0} us mean {r.Average():0} us | throughput ratio (means) {r.Average() / g.Average():P0}, (p50) {Percentile(r, 0.5) / Percentile(g, 0.5):P0}"));
            grain.AddRange(g);
            rawTimes.AddRange(r);
        }

        // Back to back (what BenchmarkDotNet measures): the next insert is sent as soon as the previous one returns,
        // so whatever the writer does after acknowledging is on its path.
        var tight = new List<double>(perRound * rounds);
        var rawTight = new List<double>(perRound * rounds);
        for (var round = 0; round < rounds; round++)
        {
            for (var i = 0; i < perRound; i++)
            {
                var start = Stopwatch.GetTimestamp();
                await host.Shard.MutateAsync(new MutationRequest("INSERT INTO items(name, qty) VALUES (?, 1)", ["grain"]));
                tight.Add(Stopwatch.GetElapsedTime(start).TotalMicroseconds);
            }

            for (var i = 0; i < perRound; i++)
            {
                var start = Stopwatch.GetTimestamp();
                name.Value = "raw";
                insert.ExecuteNonQuery();
                rawTight.Add(Stopwatch.GetElapsedTime(start).TotalMicroseconds);
            }
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"lone back to back: grain p50 {Percentile(tight, 0.5):0} us p90 {Percentile(tight, 0.9):0} us p99 {Percentile(tight, 0.99):0} us mean {tight.Average():0} us; raw p50 {Percentile(rawTight, 0.5):0} us mean {rawTight.Average():0} us; grain/raw throughput {rawTight.Average() / tight.Average():P0} (means), {Percentile(rawTight, 0.5) / Percentile(tight, 0.5):P0} (p50)"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"lone: grain p50 {Percentile(grain, 0.5):0} us mean {grain.Average():0} us; raw p50 {Percentile(rawTimes, 0.5):0} us mean {rawTimes.Average():0} us; grain/raw throughput {rawTimes.Average() / grain.Average():P0} (means), {Percentile(rawTimes, 0.5) / Percentile(grain, 0.5):P0} (p50)"));
    }

    private static async Task GroupAsync(ShardBenchmarkHost host, SqliteConnection raw, int rounds)
    {
        const int inserters = 64;
        const int each = 8;
        var gate = new SemaphoreSlim(1, 1);
        using var insert = raw.CreateCommand();
        insert.CommandText = "INSERT INTO items(name, qty) VALUES ('raw', 1)";
        insert.Prepare();
        await using var single = await ShardBenchmarkHost.StartAsync(o => o.MaxGroupCommitSize = 1);
        var grainRates = new List<double>();
        var rawRates = new List<double>();
        var singleRates = new List<double>();
        for (var round = 0; round < rounds * 10; round++)
        {
            var start = Stopwatch.GetTimestamp();
            await Task.WhenAll(Enumerable.Range(0, inserters).Select(_ => Task.Run(async () =>
            {
                for (var i = 0; i < each; i++)
                {
                    await host.Shard.MutateAsync(new MutationRequest("INSERT INTO items(name, qty) VALUES (?, 1)", ["grain"]));
                }
            })));
            grainRates.Add(inserters * each / Stopwatch.GetElapsedTime(start).TotalSeconds);
            start = Stopwatch.GetTimestamp();
            await Task.WhenAll(Enumerable.Range(0, inserters).Select(_ => Task.Run(async () =>
            {
                for (var i = 0; i < each; i++)
                {
                    await gate.WaitAsync();
                    try
                    {
                        insert.ExecuteNonQuery();
                    }
                    finally
                    {
                        gate.Release();
                    }
                }
            })));
            rawRates.Add(inserters * each / Stopwatch.GetElapsedTime(start).TotalSeconds);
            start = Stopwatch.GetTimestamp();
            await Task.WhenAll(Enumerable.Range(0, inserters).Select(_ => Task.Run(async () =>
            {
                for (var i = 0; i < each; i++)
                {
                    await single.Shard.MutateAsync(new MutationRequest("INSERT INTO items(name, qty) VALUES (?, 1)", ["grain"]));
                }
            })));
            singleRates.Add(inserters * each / Stopwatch.GetElapsedTime(start).TotalSeconds);
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"group: grain with group commit p50 {Percentile(grainRates, 0.5):N0} inserts/s, the same grain with one commit per request (MaxGroupCommitSize = 1) p50 {Percentile(singleRates, 0.5):N0} inserts/s, ratio {Percentile(grainRates, 0.5) / Percentile(singleRates, 0.5):0.00}x"));

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"group: grain p50 {Percentile(grainRates, 0.5):N0} inserts/s, raw commit-per-insert p50 {Percentile(rawRates, 0.5):N0} inserts/s, ratio {Percentile(grainRates, 0.5) / Percentile(rawRates, 0.5):0.00}x ({grainRates.Count} rounds of {inserters}x{each})"));
    }

    /// <summary>Single-row insert and point select over HTTP: the silo against the minimal endpoint over raw SQLite, interleaved.</summary>
    private static async Task HttpAsync(int rounds)
    {
        const int perRound = 2000;
        await using var host = await HttpBenchmarkHost.StartAsync();
        var insert = HttpBenchmarkHost.Body("INSERT INTO items(name, qty) VALUES (?, 1)", ["http"]);
        var select = HttpBenchmarkHost.Body("SELECT id, name, qty FROM items WHERE id = ?", [1L]);
        foreach (var (name, body) in new[] { ("insert", insert), ("point select", select) })
        {
            var url = name == "insert" ? "mutation" : "query";
            for (var i = 0; i < 300; i++)
            {
                await host.PostAsync(host.SiloBase + url, body);
                await host.PostAsync(host.MinimalBase + url, body);
            }

            var silo = new List<double>();
            var minimal = new List<double>();
            for (var round = 0; round < rounds; round++)
            {
                for (var i = 0; i < perRound; i++)
                {
                    var start = Stopwatch.GetTimestamp();
                    await host.PostAsync(host.SiloBase + url, body);
                    silo.Add(Stopwatch.GetElapsedTime(start).TotalMicroseconds);
                    start = Stopwatch.GetTimestamp();
                    await host.PostAsync(host.MinimalBase + url, body);
                    minimal.Add(Stopwatch.GetElapsedTime(start).TotalMicroseconds);
                }
            }

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"http {name}: silo p50 {Percentile(silo, 0.5):0} us mean {silo.Average():0} us; minimal endpoint p50 {Percentile(minimal, 0.5):0} us mean {minimal.Average():0} us; silo/minimal throughput {minimal.Average() / silo.Average():P0} (means), {Percentile(minimal, 0.5) / Percentile(silo, 0.5):P0} (p50)"));

            // Back to back (what BenchmarkDotNet measures): a round of one server's requests, then a round of the other's.
            silo.Clear();
            minimal.Clear();
            for (var round = 0; round < rounds; round++)
            {
                foreach (var (target, times) in new[] { (host.SiloBase, silo), (host.MinimalBase, minimal) })
                {
                    await TimeAsync(host, target + url, body, perRound, times);
                }
            }

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"http {name} back to back: silo p50 {Percentile(silo, 0.5):0} us mean {silo.Average():0} us; minimal endpoint p50 {Percentile(minimal, 0.5):0} us mean {minimal.Average():0} us; silo/minimal throughput {minimal.Average() / silo.Average():P0} (means), {Percentile(minimal, 0.5) / Percentile(silo, 0.5):P0} (p50)"));

            // Back to back in short alternating blocks: each request follows one to the same server (as in
            // BenchmarkDotNet), and the disk's drift over minutes falls on both sides alike.
            silo.Clear();
            minimal.Clear();
            for (var block = 0; block < rounds * 20; block++)
            {
                foreach (var (target, times) in block % 2 == 0 ? new[] { (host.SiloBase, silo), (host.MinimalBase, minimal) } : [(host.MinimalBase, minimal), (host.SiloBase, silo)])
                {
                    await TimeAsync(host, target + url, body, 200, times);
                }
            }

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"http {name} in alternating blocks of 200: silo p50 {Percentile(silo, 0.5):0} us p90 {Percentile(silo, 0.9):0} us mean {silo.Average():0} us; minimal endpoint p50 {Percentile(minimal, 0.5):0} us p90 {Percentile(minimal, 0.9):0} us mean {minimal.Average():0} us; silo/minimal throughput {minimal.Average() / silo.Average():P0} (means), {Percentile(minimal, 0.5) / Percentile(silo, 0.5):P0} (p50)"));
        }
    }

    /// <summary>Sends <paramref name="count"/> requests back to back, each timed from send to the whole answer.</summary>
    private static async Task TimeAsync(HttpBenchmarkHost host, string url, byte[] body, int count, List<double> times)
    {
        for (var i = 0; i < count; i++)
        {
            var start = Stopwatch.GetTimestamp();
            await host.PostAsync(url, body);
            times.Add(Stopwatch.GetElapsedTime(start).TotalMicroseconds);
        }
    }

    private static double Percentile(List<double> values, double p)
    {
        var sorted = values.Order().ToList();
        return sorted[(int)Math.Min(sorted.Count - 1, Math.Round(p * (sorted.Count - 1)))];
    }
}
