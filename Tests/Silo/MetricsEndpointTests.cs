using System.Net;
using Xunit.Abstractions;
using OrleansShards.Tests.Infrastructure;

namespace OrleansShards.Tests.Silo;

/// <summary>/metrics: Prometheus text from the OpenTelemetry pipeline.</summary>
[Collection(SiloCollection.Name)]
public sealed class MetricsEndpointTests(SiloFixture silo, ITestOutputHelper output)
{
    [Fact]
    public async Task Metrics_of_a_fresh_silo_have_process_runtime_and_silo_series_before_any_request()
    {
        using var fresh = new SiloFactory();
        var client = fresh.CreateClient();
        using var response = await client.GetAsync("/metrics");
        var text = await response.Content.ReadAsStringAsync();
        output.WriteLine(text);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.StartsWith("text/plain", response.Content.Headers.ContentType?.ToString(), StringComparison.Ordinal);
        var samples = PrometheusText.Parse(text);
        Assert.Contains(samples, s => s.Name.StartsWith("process_", StringComparison.Ordinal));
        Assert.Contains(samples, s => s.Name.StartsWith("dotnet_gc_", StringComparison.Ordinal));
        Assert.Contains(samples, s => s.Name.StartsWith("dotnet_thread_pool_", StringComparison.Ordinal));
        Assert.Contains(samples, s => s.Name == "orleansshards_silo_activations");
        Assert.Contains(samples, s => s.Name == "orleansshards_process_open_descriptors" && s.Value > 0);
    }

    [Fact]
    public async Task Metrics_expose_per_tenant_counters_without_a_shard_label()
    {
        var tenant = "m_" + Guid.NewGuid().ToString("N")[..8];
        var client = silo.CreateTenantClient(tenant);
        await client.PostOkAsync("/v1/tables/counted/ddl", """{"query":"CREATE TABLE counted (id INTEGER PRIMARY KEY)"}""");
        await client.PostOkAsync("/v1/tables/counted/mutation", """{"query":"INSERT INTO counted VALUES (1), (2), (3)"}""");
        await client.PostOkAsync("/v1/tables/counted/query", """{"query":"SELECT * FROM counted"}""");

        var text = await client.GetStringAsync("/metrics");
        var samples = PrometheusText.Parse(text);
        var label = $"tenant=\"{tenant}\"";
        Assert.Contains(samples, s => s.Name == "orleansshards_shard_statements_total" && s.Labels.Contains(label, StringComparison.Ordinal) && s.Value >= 2);
        Assert.Contains(samples, s => s.Name == "orleansshards_shard_rows_written_total" && s.Labels.Contains(label, StringComparison.Ordinal) && s.Value >= 3);
        Assert.Contains(samples, s => s.Name == "orleansshards_shard_capacity_bytes" && s.Labels.Contains(label, StringComparison.Ordinal) && s.Value > 0);
        Assert.DoesNotContain(samples, s => s.Name.StartsWith("orleansshards_", StringComparison.Ordinal) && s.Labels.Contains("shard=", StringComparison.Ordinal));
        Assert.Contains("# TYPE orleansshards_shard_statements_total counter", text, StringComparison.Ordinal);

    }

    [Fact]
    public async Task Metrics_count_rejections_by_reason()
    {
        var client = silo.CreateTenantClient("m_" + Guid.NewGuid().ToString("N")[..8]);
        Assert.Equal(0, Rejections(await client.GetStringAsync("/metrics"), "UNKNOWN_CODE"));
        var before = Rejections(await client.GetStringAsync("/metrics"), "NOT_FOUND");
        using var missing = await client.GetAsync("/v1/tables/absent/rows/1");
        await SiloHttp.AssertErrorAsync(missing, "NOT_FOUND", 404);
        Assert.Equal(before + 1, Rejections(await client.GetStringAsync("/metrics"), "NOT_FOUND"));

        static double Rejections(string text, string reason) => PrometheusText.Parse(text)
            .Where(s => s.Name == "orleansshards_http_rejections_total" && s.Labels.Contains($"reason=\"{reason}\"", StringComparison.Ordinal))
            .Sum(s => s.Value);
    }

    [Fact]
    public async Task Metrics_record_the_duration_of_a_restore()
    {
        var tenant = "m_" + Guid.NewGuid().ToString("N")[..8];
        var client = silo.CreateTenantClient(tenant);
        await client.PostOkAsync("/v1/tables/t/ddl", """{"query":"CREATE TABLE t (id INTEGER PRIMARY KEY)"}""");
        var bookmark = (await client.PostOkAsync("/v1/tables/t/mutation", """{"query":"INSERT INTO t VALUES (1)"}""")).GetProperty("bookmark").GetString();
        await client.PostOkAsync("/v1/tables/t/mutation", """{"query":"INSERT INTO t VALUES (2)"}""");
        await client.PostOkAsync("/v1/tables/t/pitr/restore", $$"""{"bookmark":"{{bookmark}}"}""");

        var text = await client.GetStringAsync("/metrics");
        output.WriteLine(text);
        var samples = PrometheusText.Parse(text);
        var count = Assert.Single(samples, s => s.Name == "orleansshards_operation_duration_seconds_count"
            && s.Labels.Contains("operation=\"restore\"", StringComparison.Ordinal)
            && s.Labels.Contains("outcome=\"ok\"", StringComparison.Ordinal)
            && s.Labels.Contains($"tenant=\"{tenant}\"", StringComparison.Ordinal));
        Assert.Equal(1, count.Value);
    }

    [Fact]
    public async Task Metrics_carry_the_shard_label_when_per_shard_tags_are_configured()
    {
        using var factory = new SiloFactory();
        factory.Settings["Shards:Metrics:PerShardTags"] = "true";
        var tenant = "m_" + Guid.NewGuid().ToString("N")[..8];
        var client = factory.CreateTenantClient(tenant);
        await client.PostOkAsync("/v1/tables/one/ddl", """{"query":"CREATE TABLE one (id INTEGER PRIMARY KEY)"}""");
        await client.PostOkAsync("/v1/tables/one/mutation", """{"query":"INSERT INTO one VALUES (1)"}""");

        var samples = PrometheusText.Parse(await client.GetStringAsync("/metrics"));
        Assert.Contains(samples, s => s.Name == "orleansshards_shard_rows_written_total" && s.Labels.Contains($"shard=\"{tenant}:one\"", StringComparison.Ordinal));
    }
}

/// <summary>
/// ASP.NET Core's request duration by route and status, on a silo of its own that runs alone. ASP.NET Core's meters
/// come from each host's meter factory while OpenTelemetry listens by meter name across the process: with several
/// test hosts in one process, a host disposed by another test took the request-duration series of the host under
/// test with it (a whole scrape without any http_server series, seen once in a full run). One silo per process, as
/// deployed, never meets this.
/// </summary>
[Collection(OrleansShards.Tests.Caching.LatencyCollection.Name)]
public sealed class RequestDurationMetricsTests(KestrelSilo silo) : IClassFixture<KestrelSilo>
{
    [Fact]
    public async Task Metrics_expose_the_request_duration_by_route_and_status()
    {
        using var client = new HttpClient { BaseAddress = silo.Url };
        client.DefaultRequestHeaders.Add("X-Tenant-Id", "route_metrics");
        await client.PostOkAsync("/v1/tables/counted/ddl", """{"query":"CREATE TABLE counted (id INTEGER PRIMARY KEY)"}""");
        await client.PostOkAsync("/v1/tables/counted/query", """{"query":"SELECT * FROM counted"}""");

        // Recorded when the request ends on the server, which may be after the client read the answer, and the
        // exporter caches a scrape briefly: scrape again.
        var watch = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            var text = await client.GetStringAsync("/metrics");
            if (PrometheusText.Parse(text).Any(s => s.Name == "http_server_request_duration_seconds_count"
                && s.Labels.Contains("http_route=\"/v1/tables/{table}/query\"", StringComparison.Ordinal)
                && s.Labels.Contains("http_response_status_code=\"200\"", StringComparison.Ordinal)))
            {
                return;
            }

            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(10), "no request duration for the query route with status 200:\n" + text);
            await Task.Delay(100);
        }
    }
}
