using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OrleansShards.Benchmarks.Infrastructure;
using OrleansShards.Silo.Hosting;

namespace OrleansShards.Benchmarks.Flood;

/// <summary>
/// One tenant floods, another reads (issue 15 item 5):
/// <c>dotnet run -c Release --project Benchmarks -- flood [--seconds 20] [--flooders 64] [--heavy 3000000] [--no-limits]</c>.
/// The real silo (<c>AddShardsSilo</c> + <c>MapShardsApi</c>, default options unless <c>--no-limits</c>) runs on Kestrel at
/// 127.0.0.1 in this process. Tenant <c>flooder</c> keeps <c>--flooders</c> heavy queries in flight over loopback HTTP (a
/// recursive CTE counting to <c>--heavy</c>, ≈ 0.5 s of CPU each); a refused one waits its <c>Retry-After</c>, as the .NET
/// client does. Tenant <c>victim</c> runs point selects back to back on one connection. After a 2 s warm-up it prints the
/// victim's latency (p50, p99, max) and the flooder's answers by status.
/// </summary>
public static class FloodDriver
{
    public static async Task<int> RunAsync(string[] args)
    {
        var seconds = Option(args, "--seconds", 20);
        var flooders = Option(args, "--flooders", 64);
        var heavy = Option(args, "--heavy", 3_000_000);
        var noLimits = args.Contains("--no-limits");
        var directory = Path.Combine(Path.GetTempPath(), "orleansshards-flood-" + Guid.NewGuid().ToString("N")[..8]);

        var builder = WebApplication.CreateBuilder();
        builder.Logging.ClearProviders();
        builder.Configuration["Shards:DataDirectory"] = directory;
        builder.Configuration[ShardsSiloHostingExtensions.SiloPortKey] = EmbeddedSilo.FreePort().ToString(CultureInfo.InvariantCulture);
        builder.Configuration[ShardsSiloHostingExtensions.GatewayPortKey] = EmbeddedSilo.FreePort().ToString(CultureInfo.InvariantCulture);
        if (noLimits)
        {
            builder.Configuration["Shards:Limits:MaxConcurrentRequestsPerTenant"] = "0";
            builder.Configuration["Shards:Limits:RequestsPerWindow"] = "0";
        }

        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.AddShardsSilo();
        await using var app = builder.Build();
        app.MapShardsApi();
        await app.StartAsync();
        var url = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = flooders + 8, UseProxy = false })
        {
            BaseAddress = new Uri(url),
            Timeout = TimeSpan.FromSeconds(120),
        };

        await PostAsync(http, "victim", "/v1/tables/kv/ddl", """{"query":"CREATE TABLE kv (k INTEGER PRIMARY KEY, v TEXT NOT NULL)"}""");
        var rows = string.Join(",", Enumerable.Range(0, 200).Select(i => $$"""{"query":"INSERT INTO kv VALUES ({{i}}, 'value {{i}}')"}"""));
        await PostAsync(http, "victim", "/v1/tables/kv/batch", "{\"statements\":[" + rows + "]}");
        await PostAsync(http, "flooder", "/v1/tables/big/ddl", """{"query":"CREATE TABLE big (id INTEGER PRIMARY KEY)"}""");
        var heavyBody = $$"""{"query":"WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < {{heavy}}) SELECT count(*) FROM c"}""";

        Console.WriteLine($"flood: {flooders} heavy queries of tenant flooder (count to {heavy:N0}) against point selects of tenant victim, {seconds} s, limits {(noLimits ? "off" : "default")}, {Environment.ProcessorCount} cores");
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(seconds));
        var statuses = new int[600];
        var floods = Enumerable.Range(0, flooders).Select(_ => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    using var response = await SendAsync(http, "flooder", "/v1/tables/big/query", heavyBody, CancellationToken.None);
                    Interlocked.Increment(ref statuses[(int)response.StatusCode]);
                    if (response.StatusCode == HttpStatusCode.TooManyRequests)
                    {
                        var wait = response.Headers.RetryAfter?.Delta ?? TimeSpan.FromSeconds(1);
                        await Task.Delay(wait, stop.Token).ConfigureAwait(false);
                    }
                }
                catch (OperationCanceledException)
                {
                    break;
                }
                catch (HttpRequestException)
                {
                    Interlocked.Increment(ref statuses[0]);
                }
            }
        })).ToList();

        var latencies = new List<double>();
        var victimErrors = 0;
        var warmUp = Stopwatch.StartNew();
        var key = 0;
        while (!stop.IsCancellationRequested)
        {
            var started = Stopwatch.GetTimestamp();
            using var response = await SendAsync(http, "victim", "/v1/tables/kv/query",
                $$"""{"query":"SELECT v FROM kv WHERE k = ?","params":[{{key++ % 200}}]}""", CancellationToken.None);
            await response.Content.ReadAsByteArrayAsync().ConfigureAwait(false);
            var ms = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            if (!response.IsSuccessStatusCode)
            {
                victimErrors++;
            }
            else if (warmUp.Elapsed > TimeSpan.FromSeconds(2))
            {
                latencies.Add(ms);
            }
        }

        await Task.WhenAll(floods);
        latencies.Sort();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"victim: {latencies.Count} point selects, p50 {Percentile(latencies, 0.50):0.0} ms, p99 {Percentile(latencies, 0.99):0.0} ms, max {(latencies.Count > 0 ? latencies[^1] : 0):0.0} ms, errors {victimErrors}"));
        Console.WriteLine("flooder: " + string.Join(", ", statuses.Select((n, code) => (n, code)).Where(s => s.n > 0).Select(s => $"{(s.code == 0 ? "connection error" : s.code.ToString(CultureInfo.InvariantCulture))}: {s.n}")));
        await app.StopAsync();
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (IOException)
        {
        }

        return Percentile(latencies, 0.99) < 100 ? 0 : 1;
    }

    private static double Percentile(List<double> sorted, double p) =>
        sorted.Count == 0 ? double.NaN : sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(p * sorted.Count) - 1)];

    private static async Task PostAsync(HttpClient http, string tenant, string path, string json)
    {
        using var response = await SendAsync(http, tenant, path, json, CancellationToken.None);
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"{path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync().ConfigureAwait(false)}");
        }
    }

    private static async Task<HttpResponseMessage> SendAsync(HttpClient http, string tenant, string path, string json, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        request.Headers.Add("X-Tenant-Id", tenant);
        var response = await http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        await response.Content.LoadIntoBufferAsync(cancellationToken).ConfigureAwait(false);
        return response;
    }

    private static int Option(string[] args, string name, int fallback)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;
    }
}
