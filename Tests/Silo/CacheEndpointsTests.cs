namespace OrleansShards.Tests.Silo;

/// <summary>
/// The cache over the real HTTP host: <c>POST /v1/tables/{table}/cache/warm</c>, cached row reads
/// (<c>meta.servedBy</c>) and the <c>OrleansShards.Cache</c> meter in the <c>/metrics</c> scrape.
/// </summary>
[Collection(SiloCollection.Name)]
public sealed class CacheEndpointsTests(SiloFixture silo)
{
    private const string Schema = """{"query":"CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT, qty INTEGER NOT NULL)"}""";
    private const string Path = "/v1/tables/items";

    private async Task<(HttpClient Client, string Tenant)> NewTableAsync()
    {
        var tenant = "c_" + Guid.NewGuid().ToString("N")[..8];
        var client = silo.CreateTenantClient(tenant);
        await client.PostOkAsync(Path + "/ddl", Schema);
        await client.PostOkAsync(Path + "/ddl", """{"query":"CREATE INDEX items_name ON items(name)"}""");
        await client.PostOkAsync(Path + "/batch", """
            {"statements":[
              {"query":"INSERT INTO items (id, name, qty) VALUES (1, 'one', 10)"},
              {"query":"INSERT INTO items (id, name, qty) VALUES (2, 'two', 20)"},
              {"query":"INSERT INTO items (id, name, qty) VALUES (3, 'three', 30)"}]}
            """);
        return (client, tenant);
    }

    [Fact]
    public async Task Warm_makes_the_next_cached_read_a_cache_hit_over_http()
    {
        var (client, _) = await NewTableAsync();

        // Before warming, a cached read of key 2 misses (it populates after answering: use key 3 to
        // stay clean of that populate).
        var cold = await client.GetOkAsync(Path + "/rows/3?consistency=cached");
        Assert.Equal("shard", cold.GetProperty("meta").GetProperty("servedBy").GetString());

        // The setup's schema flushes may reach the invalidator after this warm (the stream is pulled, late under
        // load); they remove only entries older than their commits, never these (LateFlushTests).
        var warm = await client.PostOkAsync(Path + "/cache/warm", """{"primaryKeys":[1,2,404],"lookups":[{"column":"name","value":"one"}]}""");
        // 404 has no row: "no row" is an entry too, so it is warmed as well.
        Assert.Equal(4, warm.GetProperty("warmed").GetInt32());
        Assert.Equal(0, warm.GetProperty("skipped").GetInt32());

        var hit = await client.GetOkAsync(Path + "/rows/2?consistency=cached");
        Assert.Equal("cache", hit.GetProperty("meta").GetProperty("servedBy").GetString());
        Assert.Equal("two", hit.GetProperty("rows")[0][1].GetString());

        var byName = await client.GetOkAsync(Path + "/rows?name=one&consistency=cached");
        Assert.Equal("cache", byName.GetProperty("meta").GetProperty("servedBy").GetString());
        Assert.Equal(1, byName.GetProperty("rows")[0][0].GetInt64());

        // Strong reads never use the warmed entry.
        var strong = await client.GetOkAsync(Path + "/rows/2?consistency=strong");
        Assert.Equal("shard", strong.GetProperty("meta").GetProperty("servedBy").GetString());

        var stats = await client.GetOkAsync(Path + "/stats");
        Assert.True(stats.GetProperty("cache").GetProperty("hits").GetInt64() >= 2);
    }

    [Fact]
    public async Task Warm_after_a_write_serves_the_new_value_from_the_cache()
    {
        var (client, _) = await NewTableAsync();
        await client.PostOkAsync(Path + "/cache/warm", """{"primaryKeys":[1]}""");
        var write = await client.PostOkAsync(Path + "/mutation", """{"query":"UPDATE items SET name = 'uno' WHERE id = 1"}""");
        var bookmark = write.GetProperty("bookmark").GetString()!;

        await client.PostOkAsync(Path + "/cache/warm", """{"primaryKeys":[1]}""");
        var read = await client.GetOkAsync(Path + "/rows/1?consistency=cached&minBookmark=" + Uri.EscapeDataString(bookmark));
        Assert.Equal("cache", read.GetProperty("meta").GetProperty("servedBy").GetString());
        Assert.Equal("uno", read.GetProperty("rows")[0][1].GetString());
    }

    [Theory]
    [InlineData("{", "malformed JSON")]
    [InlineData("[]", "an array, not an object")]
    [InlineData("""{"primaryKeys":"1"}""", "primaryKeys not an array")]
    [InlineData("""{"lookups":{"column":"name"}}""", "lookups not an array")]
    [InlineData("""{"hotKeys":"yes"}""", "hotKeys not a boolean")]
    [InlineData("""{"lookups":[{"column":"qty","value":10}]}""", "a column that is not indexed")]
    [InlineData("""{"lookups":[{"column":"nope","value":10}]}""", "a column that does not exist")]
    [InlineData("""{"lookups":[null]}""", "a null lookup")]
    [InlineData("""{"lookups":[{"value":1}]}""", "a lookup without a column")]
    public async Task Warm_answers_invalid_argument_json_when_body_is_bad(string body, string because)
    {
        var (client, _) = await NewTableAsync();
        using var response = await client.PostRawAsync(Path + "/cache/warm", body);
        var message = await SiloHttp.AssertErrorAsync(response, "INVALID_ARGUMENT", 400);
        Assert.False(string.IsNullOrWhiteSpace(message), because);
    }

    [Fact]
    public async Task Warm_answers_not_found_json_when_table_does_not_exist()
    {
        var client = silo.CreateTenantClient("c_" + Guid.NewGuid().ToString("N")[..8]);
        await client.PostErrorAsync("/v1/tables/missing/cache/warm", """{"primaryKeys":[1]}""", "NOT_FOUND", 404);
    }

    [Fact]
    public async Task Warm_answers_payload_too_large_json_when_body_exceeds_limit()
    {
        var (client, _) = await NewTableAsync();
        var keys = string.Join(',', Enumerable.Range(0, SiloFixture.MaxBodyBytes / 4));
        await client.PostErrorAsync(Path + "/cache/warm", "{\"primaryKeys\":[" + keys + "]}", "PAYLOAD_TOO_LARGE", 413);
    }

    [Fact]
    public async Task Metrics_expose_cache_counters_and_invalidation_histogram_after_cached_reads()
    {
        var (client, tenant) = await NewTableAsync();

        // The seed's flushes (its DDL) may still be on their way through the stream when the warm runs; one arriving
        // after it removes only entries older than its commit, so the warmed ones stay (LateFlushTests).
        await client.PostOkAsync(Path + "/cache/warm", """{"primaryKeys":[1,2]}""");
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal("cache", (await client.GetOkAsync(Path + "/rows/1?consistency=cached")).GetProperty("meta").GetProperty("servedBy").GetString());
        }

        Assert.Equal("shard", (await client.GetOkAsync(Path + "/rows/3?consistency=cached")).GetProperty("meta").GetProperty("servedBy").GetString());

        // A write invalidates key 2: its commit→delete latency is recorded once the invalidator applied it.
        await client.PostOkAsync(Path + "/mutation", """{"query":"UPDATE items SET qty = 21 WHERE id = 2"}""");
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while ((await client.GetOkAsync(Path + "/stats")).GetProperty("cache").GetProperty("invalidations").GetInt64() < 1)
        {
            Assert.True(DateTime.UtcNow < deadline, "the invalidation was not applied within 10 s");
            await Task.Delay(10);
        }

        // Stale hits: not produced here (fresh TTL 60 s), but the counter must still be exported
        // once it has a sample; the table's stale count is asserted through stats instead.
        using var response = await client.GetAsync("/metrics");
        Assert.StartsWith("text/plain", response.Content.Headers.ContentType?.ToString(), StringComparison.Ordinal);
        var text = await response.Content.ReadAsStringAsync();
        var samples = PrometheusText.Parse(text);
        var shard = $"tenant=\"{tenant}\"";

        double Value(string name) => Assert.Single(samples, s => s.Name == name && s.Labels.Contains(shard, StringComparison.Ordinal)).Value;

        Assert.True(Value("orleansshards_cache_hits_total") >= 3, "three reads of key 1 hit");
        Assert.True(Value("orleansshards_cache_misses_total") >= 1, "the read of key 3 missed");
        Assert.True(Value("orleansshards_cache_invalidations_total") >= 2, "row key of id 2 and its index key of name 'two'");
        Assert.Contains("# TYPE orleansshards_cache_hits_total counter", text, StringComparison.Ordinal);
        Assert.Contains("# TYPE orleansshards_cache_misses_total counter", text, StringComparison.Ordinal);
        Assert.Contains("# TYPE orleansshards_cache_invalidation_latency_milliseconds histogram", text, StringComparison.Ordinal);

        var count = Value("orleansshards_cache_invalidation_latency_milliseconds_count");
        Assert.True(count >= 1);
        Assert.True(Value("orleansshards_cache_invalidation_latency_milliseconds_sum") >= 0);
        var buckets = samples
            .Where(s => s.Name == "orleansshards_cache_invalidation_latency_milliseconds_bucket" && s.Labels.Contains(shard, StringComparison.Ordinal))
            .Select(s => (Le: PrometheusText.Le(s.Labels), s.Value))
            .OrderBy(b => b.Le)
            .ToList();
        Assert.True(buckets.Count >= 2);
        Assert.Equal(double.PositiveInfinity, buckets[^1].Le);
        Assert.Equal(count, buckets[^1].Value);
        for (var i = 1; i < buckets.Count; i++)
        {
            Assert.True(buckets[i].Value >= buckets[i - 1].Value, "histogram buckets are cumulative");
        }
    }

    [Fact]
    public async Task Metrics_expose_stale_counter_when_cached_read_is_answered_in_stale_window()
    {
        // Stale answers need an entry older than the TTL: the fixture's TTL is 60 s, so this test
        // uses its own silo with a 1 ms TTL and a long stale window.
        using var factory = new SiloFactory();
        factory.Settings["Shards:Cache:Ttl"] = "00:00:00.001";
        factory.Settings["Shards:Cache:StaleWindow"] = "00:01:00";
        var tenant = "s_" + Guid.NewGuid().ToString("N")[..8];
        var client = factory.CreateTenantClient(tenant);
        await client.PostOkAsync(Path + "/ddl", Schema);
        await client.PostOkAsync(Path + "/mutation", """{"query":"INSERT INTO items (id, name, qty) VALUES (1, 'one', 10)"}""");
        await client.PostOkAsync(Path + "/cache/warm", """{"primaryKeys":[1]}""");

        string? servedBy = null;
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(5);
        while (servedBy != "cache-stale" && DateTime.UtcNow < deadline)
        {
            servedBy = (await client.GetOkAsync(Path + "/rows/1?consistency=cached")).GetProperty("meta").GetProperty("servedBy").GetString();
        }

        Assert.Equal("cache-stale", servedBy);
        var samples = PrometheusText.Parse(await client.GetStringAsync("/metrics"));
        var stale = Assert.Single(samples, s => s.Name == "orleansshards_cache_stale_total" && s.Labels.Contains($"tenant=\"{tenant}\"", StringComparison.Ordinal));
        Assert.True(stale.Value >= 1);
    }
}
