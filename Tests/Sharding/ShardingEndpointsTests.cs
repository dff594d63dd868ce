using System.Text.Json;
using OrleansShards.Tests.Silo;

namespace OrleansShards.Tests.Sharding;

/// <summary>The sharding routes against the real silo: shard, route by shardKey, discover, query across shards, rebalance, unshard, errors.</summary>
[Collection(SiloCollection.Name)]
public sealed class ShardingEndpointsTests(SiloFixture silo)
{
    [Fact]
    public async Task Sharding_routes_answer_the_documented_shapes()
    {
        var client = silo.CreateTenantClient("s_" + Guid.NewGuid().ToString("N")[..8]);
        const string Path = "/v1/tables/orders";
        await client.PostOkAsync(Path + "/ddl", """{"query":"CREATE TABLE orders(id INTEGER PRIMARY KEY, customer TEXT NOT NULL, total REAL)"}""");
        var inserts = string.Join(",", Enumerable.Range(0, 60).Select(i => $$"""{"query":"INSERT INTO orders VALUES (?, ?, ?)","params":[{{i}},"c{{i % 6}}",{{i}}.5]}"""));
        await client.PostOkAsync(Path + "/batch", $$"""{"statements":[{{inserts}}]}""");

        var shard = await client.PostOkAsync(Path + "/shard", """{"key":"customer","count":3,"strategy":"hash"}""");
        Assert.Equal(3, shard.GetProperty("shards").GetArrayLength());
        Assert.Equal(60, shard.GetProperty("stats").GetProperty("total").GetInt64());
        Assert.Equal("hash", shard.GetProperty("registry").GetProperty("strategy").GetString());
        Assert.Equal("active", shard.GetProperty("registry").GetProperty("endpoints")[0].GetProperty("status").GetString());
        Assert.True(shard.GetProperty("durationMs").GetInt64() >= 0);

        var keyed = await client.PostOkAsync(Path + "/query", """{"query":"SELECT count(*) FROM orders WHERE customer = ?","params":["c1"],"shardKey":"c1"}""");
        Assert.Equal(10, keyed.GetProperty("rows")[0][0].GetInt64());
        await client.PostErrorAsync(Path + "/mutation", """{"query":"DELETE FROM orders WHERE id = 1"}""", "INVALID_ARGUMENT", 400);
        await client.PostOkAsync(Path + "/mutation", """{"query":"DELETE FROM orders WHERE id = 1","shardKey":"c1"}""");

        var discover = await client.GetOkAsync(Path + "/shards");
        Assert.True(discover.GetProperty("sharded").GetBoolean());
        Assert.All(discover.GetProperty("shards").EnumerateArray(), s => Assert.Equal("healthy", s.GetProperty("status").GetString()));

        var avg = await client.PostOkAsync(Path + "/shards/query", """{"query":"SELECT total FROM orders","aggregation":"avg","timeoutMs":5000}""");
        var expected = Enumerable.Range(0, 60).Where(i => i != 1).Average(i => i + 0.5);
        Assert.Equal(expected, avg.GetProperty("value").GetDouble(), 9);
        Assert.Equal(3, avg.GetProperty("shards").GetArrayLength());

        var rebalance = await client.PostOkAsync(Path + "/rebalance", """{"targetCount":4}""");
        Assert.Equal(59, rebalance.GetProperty("after").GetProperty("total").GetInt64());
        Assert.True(rebalance.GetProperty("rowsMoved").GetInt64() > 0);

        await client.PostErrorAsync(Path + "/shard", """{"key":"customer","count":2}""", "INVALID_ARGUMENT", 400);
        await client.PostErrorAsync("/v1/tables/other/shard", """{"count":2}""", "INVALID_ARGUMENT", 400);
        await client.PostErrorAsync(Path + "/shards/query", """{"query":"SELECT 1","aggregation":"median"}""", "INVALID_ARGUMENT", 400);

        // A query that escapes the aggregation's wrapper (a ')' and a comment) answers no aggregate row: a typed error, not INTERNAL.
        await client.PostErrorAsync(Path + "/shards/query", """{"query":"SELECT 1) LIMIT 0 --","aggregation":"count"}""", "INVALID_ARGUMENT", 400);
        await client.PostErrorAsync(Path + "/shards/query", """{"query":"SELECT 1) SELECT 'x', 'y' --","aggregation":"avg"}""", "INVALID_ARGUMENT", 400);

        // Escaped so that each partition answers one huge "count": their sum overflows, a typed error too (was INTERNAL).
        await client.PostErrorAsync(Path + "/shards/query", """{"query":"SELECT 1) HAVING 0 UNION ALL SELECT 9223372036854775807 --","aggregation":"count"}""", "INVALID_ARGUMENT", 400);

        var unshard = await client.PostOkAsync(Path + "/unshard", "{}");
        Assert.Equal(59, unshard.GetProperty("rowCount").GetInt64());
        var all = await client.PostOkAsync(Path + "/query", """{"query":"SELECT count(*) FROM orders"}""");
        Assert.Equal(59, all.GetProperty("rows")[0][0].GetInt64());
        Assert.False((await client.GetOkAsync(Path + "/shards")).GetProperty("sharded").GetBoolean());
    }
}
