using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OrleansShards.Benchmarks.Infrastructure;
using OrleansShards.Benchmarks.TableShards;
using OrleansShards.Silo.Hosting;

namespace OrleansShards.Benchmarks.Soak;

/// <summary>
/// Soak run of HTTP inserts against the real silo (<c>AddShardsSilo</c> + <c>MapShardsApi</c> on Kestrel at
/// 127.0.0.1, free HTTP and Orleans ports):
/// <c>dotnet run -c Release --project Benchmarks -- soak [--seconds 150] [--inserters 64] [--block 10] [--gap 3] [--timeout 35]</c>.
/// Load comes in blocks: each inserter opens a fresh connection (its own <see cref="SocketsHttpHandler"/>, disposed
/// after the block) and inserts rows back to back for <c>--block</c> seconds; then <c>--gap</c> idle seconds; until
/// <c>--seconds</c> have passed. Every request has a timeout and a watchdog ends the process if the silo does not stop,
/// so the run always ends by itself. It prints acknowledgements per block and second, errors by code and the
/// longest stretch of whole seconds inside load blocks with no acknowledged write, and exits 1 if there was one (a
/// stall), 0 otherwise.
/// </summary>
public static class SoakDriver
{
    private const string Insert = "INSERT INTO items(name, qty) VALUES (?, 1)";
    private static readonly MediaTypeHeaderValue JsonType = new("application/json");

    /// <summary>Runs the soak with the command-line options after <c>soak</c>; returns the process exit code.</summary>
    public static async Task<int> RunAsync(string[] args)
    {
        var seconds = Option(args, "--seconds", 150);
        var inserters = Option(args, "--inserters", 64);
        var block = Option(args, "--block", 10);
        var gap = Option(args, "--gap", 3);
        var timeout = TimeSpan.FromSeconds(Option(args, "--timeout", 35));

        // The run bounds itself: load ends at --seconds, a request at its timeout; the watchdog covers a silo that
        // does not stop.
        var watchdog = new Timer(
            _ =>
            {
                Console.WriteLine("soak: watchdog — the run did not end in time; exiting with code 3");
                Environment.Exit(3);
            },
            null,
            TimeSpan.FromSeconds(seconds) + timeout + TimeSpan.FromSeconds(90),
            Timeout.InfiniteTimeSpan);
        await using var _ = watchdog.ConfigureAwait(false);

        var directory = Path.Combine(Path.GetTempPath(), "orleansshards-soak-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(directory);
        var builder = WebApplication.CreateBuilder();
        builder.Logging.ClearProviders();
        builder.Configuration["Shards:DataDirectory"] = Path.Combine(directory, "silo");
        builder.Configuration[ShardsSiloHostingExtensions.SiloPortKey] = EmbeddedSilo.FreePort().ToString(CultureInfo.InvariantCulture);
        builder.Configuration[ShardsSiloHostingExtensions.GatewayPortKey] = EmbeddedSilo.FreePort().ToString(CultureInfo.InvariantCulture);
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.AddShardsSilo();
        var app = builder.Build();
        app.MapShardsApi();
        await app.StartAsync().ConfigureAwait(false);
        var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First().TrimEnd('/');
        var baseUrl = address + "/v1/tables/items/";

        using (var setup = new HttpClient { Timeout = timeout })
        {
            using var ddl = new ByteArrayContent(HttpBenchmarkHost.Body(ShardBenchmarkHost.Schema, []));
            ddl.Headers.ContentType = JsonType;
            using var created = await setup.PostAsync(baseUrl + "ddl", ddl).ConfigureAwait(false);
            created.EnsureSuccessStatusCode();
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"soak: {address}, {seconds} s, {inserters} inserters, blocks of {block} s, gaps of {gap} s, request timeout {timeout.TotalSeconds:0} s, load {LoadAverage()}"));

        var body = HttpBenchmarkHost.Body(Insert, ["soak"]);
        var acks = new long[seconds + (int)timeout.TotalSeconds + 120];
        var errors = new ConcurrentDictionary<string, int>(StringComparer.Ordinal);
        var loadSeconds = new List<int>();
        var clock = Stopwatch.StartNew();
        var blockNumber = 0;
        while (clock.Elapsed.TotalSeconds < seconds)
        {
            var start = clock.Elapsed;
            var end = TimeSpan.FromSeconds(Math.Min(start.TotalSeconds + block, seconds));
            var blockErrors = new ConcurrentDictionary<string, int>(StringComparer.Ordinal);
            var latencies = new ConcurrentBag<double>();
            var workers = Enumerable.Range(0, inserters).Select(_ => Task.Run(async () =>
            {
                // A fresh connection per inserter and block.
                using var handler = new SocketsHttpHandler { UseProxy = false, PooledConnectionLifetime = Timeout.InfiniteTimeSpan };
                using var client = new HttpClient(handler, disposeHandler: false) { Timeout = Timeout.InfiniteTimeSpan, DefaultRequestVersion = HttpVersion.Version11 };
                while (clock.Elapsed < end)
                {
                    var sent = clock.Elapsed;
                    var code = await InsertAsync(client, baseUrl + "mutation", body, timeout).ConfigureAwait(false);
                    if (code is null)
                    {
                        Interlocked.Increment(ref acks[(int)clock.Elapsed.TotalSeconds]);
                        latencies.Add((clock.Elapsed - sent).TotalMilliseconds);
                    }
                    else
                    {
                        errors.AddOrUpdate(code, 1, (_, n) => n + 1);
                        blockErrors.AddOrUpdate(code, 1, (_, n) => n + 1);
                    }
                }
            })).ToArray();
            await Task.WhenAll(workers).ConfigureAwait(false);
            var finished = clock.Elapsed;

            // Whole seconds inside the block's load window.
            var first = (int)Math.Ceiling(start.TotalSeconds);
            var last = (int)Math.Floor(end.TotalSeconds);
            var perSecond = new List<long>();
            for (var s = first; s < last; s++)
            {
                loadSeconds.Add(s);
                perSecond.Add(Interlocked.Read(ref acks[s]));
            }

            var inBlock = latencies.Count;
            var sorted = latencies.Order().ToArray();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"block {blockNumber,2} t={start.TotalSeconds,6:0.0}-{end.TotalSeconds,6:0.0} s (drained at {finished.TotalSeconds:0.0}): {inBlock,6} acks, {inBlock / (end - start).TotalSeconds,7:0} ack/s, per second min {(perSecond.Count > 0 ? perSecond.Min() : 0)} max {(perSecond.Count > 0 ? perSecond.Max() : 0)}, zero-ack seconds {perSecond.Count(n => n == 0)}, latency p50 {Pct(sorted, 0.5):0.0} ms p99 {Pct(sorted, 0.99):0.0} ms max {(sorted.Length > 0 ? sorted[^1] : 0):0.0} ms, errors {Describe(blockErrors)}, load {LoadAverage()}"));
            blockNumber++;
            if (clock.Elapsed.TotalSeconds + gap < seconds)
            {
                await Task.Delay(TimeSpan.FromSeconds(gap)).ConfigureAwait(false);
            }
            else
            {
                break;
            }
        }

        var longest = 0;
        var run = 0;
        var previous = int.MinValue;
        var zeroSeconds = 0;
        foreach (var s in loadSeconds)
        {
            run = acks[s] == 0 ? (s == previous + 1 ? run + 1 : 1) : 0;
            if (acks[s] == 0)
            {
                zeroSeconds++;
                previous = s;
            }

            longest = Math.Max(longest, run);
        }

        // The longest ack-free span on the wall clock (gaps included) that covers a load second, and whether the run
        // ended inside it (not recovered).
        var lastSecond = Math.Min(acks.Length - 1, (int)clock.Elapsed.TotalSeconds);
        var loadSet = loadSeconds.ToHashSet();
        var silence = 0;
        var span = 0;
        var spanHasLoad = false;
        for (var s = 0; s < lastSecond; s++)
        {
            if (acks[s] == 0)
            {
                span++;
                spanHasLoad |= loadSet.Contains(s);
                if (spanHasLoad)
                {
                    silence = Math.Max(silence, span);
                }
            }
            else
            {
                span = 0;
                spanHasLoad = false;
            }
        }

        var recovered = !spanHasLoad || span == 0;
        var histogram = string.Join(' ', loadSeconds.Select(s => acks[s].ToString(CultureInfo.InvariantCulture)));
        Console.WriteLine("acks per load second: " + histogram);
        var total = acks.Sum();
        var verdict = zeroSeconds > 0 ? "STALL" : "ok";
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"soak {verdict}: {total} acks in {clock.Elapsed.TotalSeconds:0} s, {loadSeconds.Sum(s => acks[s]) / (double)Math.Max(1, loadSeconds.Count):0} ack/s over {loadSeconds.Count} whole load seconds, zero-ack load seconds {zeroSeconds}, longest zero-ack stretch {longest} s inside a block ({silence} s wall clock with gaps{(recovered ? "" : ", not recovered at the end")}), errors {Describe(errors)}, load {LoadAverage()}"));

        using (var stopping = new CancellationTokenSource(TimeSpan.FromSeconds(20)))
        {
            await app.StopAsync(stopping.Token).ConfigureAwait(false);
        }

        await app.DisposeAsync().ConfigureAwait(false);
        SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (IOException)
        {
        }

        return zeroSeconds > 0 ? 1 : 0;
    }

    /// <summary>One insert with its own timeout; <see langword="null"/> when acknowledged, else the error's code.</summary>
    private static async Task<string?> InsertAsync(HttpClient client, string url, byte[] body, TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            using var content = new ByteArrayContent(body);
            content.Headers.ContentType = JsonType;
            using var response = await client.PostAsync(url, content, cancel.Token).ConfigureAwait(false);
            await response.Content.ReadAsByteArrayAsync(cancel.Token).ConfigureAwait(false);
            return response.IsSuccessStatusCode ? null : ((int)response.StatusCode).ToString(CultureInfo.InvariantCulture);
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested)
        {
            return "TIMEOUT";
        }
        catch (HttpRequestException e)
        {
            return e.HttpRequestError.ToString();
        }
        catch (IOException e)
        {
            return e.GetType().Name;
        }
    }

    private static int Option(string[] args, string name, int fallback)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;
    }

    private static double Pct(double[] sorted, double p) =>
        sorted.Length == 0 ? 0 : sorted[(int)Math.Min(sorted.Length - 1, Math.Round(p * (sorted.Length - 1)))];

    private static string Describe(ConcurrentDictionary<string, int> errors) =>
        errors.IsEmpty ? "none" : string.Join(", ", errors.OrderBy(e => e.Key, StringComparer.Ordinal).Select(e => $"{e.Key} x{e.Value}"));

    private static string LoadAverage()
    {
        try
        {
            return string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
        }
        catch (IOException)
        {
            return "n/a";
        }
    }
}
