using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using OrleansShards.Silo.Diagnostics;

namespace OrleansShards.Tests.Silo;

/// <summary>/metrics: Prometheus text 0.0.4 built from the OrleansShards meters.</summary>
[Collection(SiloCollection.Name)]
public sealed class PrometheusExporterTests(SiloFixture silo)
{
    [Fact]
    public async Task Metrics_expose_per_shard_counters_after_statements()
    {
        var tenant = "m_" + Guid.NewGuid().ToString("N")[..8];
        var client = silo.CreateTenantClient(tenant);
        await client.PostOkAsync("/v1/tables/counted/ddl", """{"query":"CREATE TABLE counted (id INTEGER PRIMARY KEY)"}""");
        await client.PostOkAsync("/v1/tables/counted/mutation", """{"query":"INSERT INTO counted VALUES (1), (2), (3)"}""");
        await client.PostOkAsync("/v1/tables/counted/query", """{"query":"SELECT * FROM counted"}""");

        using var response = await client.GetAsync("/metrics");
        Assert.True(response.IsSuccessStatusCode);
        Assert.Equal("text/plain; version=0.0.4; charset=utf-8", response.Content.Headers.ContentType?.ToString());
        var text = await response.Content.ReadAsStringAsync();

        var samples = PrometheusText.Parse(text);
        var shard = $"shard=\"{tenant}:counted\"";
        Assert.Contains(samples, s => s.Name == "orleansshards_shard_statements_total" && s.Labels.Contains(shard, StringComparison.Ordinal) && s.Value >= 2);
        Assert.Contains(samples, s => s.Name == "orleansshards_shard_rows_written_total" && s.Labels.Contains(shard, StringComparison.Ordinal) && s.Value >= 3);
        Assert.Contains("# TYPE orleansshards_shard_statements_total counter", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Scrape_renders_counters_gauges_and_histograms_with_escaped_labels()
    {
        using var factoryScope = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var meterFactory = factoryScope.GetRequiredService<IMeterFactory>();
        using var exporter = new PrometheusExporter(meterFactory);
        var meter = meterFactory.Create("OrleansShards.Test");
        var other = meterFactory.Create("SomeoneElse");
        var counter = meter.CreateCounter<long>("orleansshards.test.requests", description: "Requests\nserved");
        var histogram = meter.CreateHistogram<double>("orleansshards.test.latency");
        meter.CreateObservableGauge("orleansshards.test.depth", () => 7);
        other.CreateCounter<long>("not.ours").Add(1);

        counter.Add(2, new KeyValuePair<string, object?>("path", "a\"b\\c\nd"), new KeyValuePair<string, object?>("code.name", 404));
        counter.Add(3, new KeyValuePair<string, object?>("code.name", 404), new KeyValuePair<string, object?>("path", "a\"b\\c\nd"));
        // The same tags again (found without formatting), and another value of a tag: its own series.
        counter.Add(10, new KeyValuePair<string, object?>("path", "a\"b\\c\nd"), new KeyValuePair<string, object?>("code.name", 404));
        counter.Add(1, new KeyValuePair<string, object?>("path", "a\"b\\c\nd"), new KeyValuePair<string, object?>("code.name", 500));
        histogram.Record(3);
        histogram.Record(30);
        histogram.Record(20000);

        var text = exporter.Scrape();
        var samples = PrometheusText.Parse(text);

        Assert.Contains("# HELP orleansshards_test_requests_total Requests\\nserved", text, StringComparison.Ordinal);
        var requests = samples.Where(s => s.Name == "orleansshards_test_requests_total").ToList();
        Assert.Equal(2, requests.Count);
        Assert.Equal(15, Assert.Single(requests, r => r.Labels == "{code_name=\"404\",path=\"a\\\"b\\\\c\\nd\"}").Value);
        Assert.Equal(1, Assert.Single(requests, r => r.Labels == "{code_name=\"500\",path=\"a\\\"b\\\\c\\nd\"}").Value);
        Assert.Equal(7, Assert.Single(samples, s => s.Name == "orleansshards_test_depth").Value);
        Assert.Equal(1, Assert.Single(samples, s => s.Name == "orleansshards_test_latency_bucket" && s.Labels == "{le=\"5\"}").Value);
        Assert.Equal(2, Assert.Single(samples, s => s.Name == "orleansshards_test_latency_bucket" && s.Labels == "{le=\"50\"}").Value);
        Assert.Equal(3, Assert.Single(samples, s => s.Name == "orleansshards_test_latency_bucket" && s.Labels == "{le=\"+Inf\"}").Value);
        Assert.Equal(3, Assert.Single(samples, s => s.Name == "orleansshards_test_latency_count").Value);
        Assert.Equal(20033, Assert.Single(samples, s => s.Name == "orleansshards_test_latency_sum").Value);
        Assert.DoesNotContain(samples, s => s.Name.StartsWith("not_ours", StringComparison.Ordinal));
    }
}
