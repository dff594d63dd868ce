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

        // avg of a query selecting two columns: the request's shape is wrong on every partition, never SQLite's words about
        // the wrapper (SQL_ERROR naming q_avg), with or without continueOnError.
        var twoColumns = await client.PostErrorAsync(Path + "/shards/query", """{"query":"SELECT total, id FROM orders","aggregation":"avg"}""", "INVALID_ARGUMENT", 400);
        Assert.DoesNotContain("q_avg", twoColumns, StringComparison.Ordinal);
        await client.PostErrorAsync(Path + "/shards/query", """{"query":"SELECT total, id FROM orders","aggregation":"avg","continueOnError":true}""", "INVALID_ARGUMENT", 400);

        // Escaped so that each partition answers one huge "count": their sum overflows, a typed error too (was INTERNAL).
        await client.PostErrorAsync(Path + "/shards/query", """{"query":"SELECT 1) HAVING 0 UNION ALL SELECT 9223372036854775807 --","aggregation":"count"}""", "INVALID_ARGUMENT", 400);

        var unshard = await client.PostOkAsync(Path + "/unshard", "{}");
        Assert.Equal(59, unshard.GetProperty("rowCount").GetInt64());
        var all = await client.PostOkAsync(Path + "/query", """{"query":"SELECT count(*) FROM orders"}""");
        Assert.Equal(59, all.GetProperty("rows")[0][0].GetInt64());
        Assert.False((await client.GetOkAsync(Path + "/shards")).GetProperty("sharded").GetBoolean());

        // Not sharded (any more): INVALID_ARGUMENT; a table that does not exist: NOT_FOUND, and nothing is created for it.
        await client.PostErrorAsync(Path + "/unshard", "{}", "INVALID_ARGUMENT", 400);
        await client.PostErrorAsync(Path + "/rebalance", """{"targetCount":2}""", "INVALID_ARGUMENT", 400);
        await client.PostErrorAsync("/v1/tables/nothere/unshard", "{}", "NOT_FOUND", 404);
        await client.PostErrorAsync("/v1/tables/nothere/rebalance", """{"targetCount":2}""", "NOT_FOUND", 404);
        await client.PostErrorAsync("/v1/tables/nothere/shards/query", """{"query":"SELECT 1","aggregation":"count"}""", "NOT_FOUND", 404);
        await client.PostErrorAsync("/v1/tables/nothere/query", """{"query":"SELECT 1"}""", "NOT_FOUND", 404);

        // A body-less unshard takes the tenant from ?tenantId, as stats/refresh does.
        var tenant = client.DefaultRequestHeaders.GetValues("X-Tenant-Id").Single();
        var anonymous = silo.CreateTenantClient(null);
        await anonymous.PostErrorAsync($"/v1/tables/nothere/unshard?tenantId={tenant}", "", "NOT_FOUND", 404);
        var notSharded = await anonymous.PostErrorAsync($"/v1/tables/orders/unshard?tenantId={tenant}", "", "INVALID_ARGUMENT", 400);
        Assert.Contains("is not sharded", notSharded, StringComparison.Ordinal);
    }

    /// <summary>
    /// A DDL that one file refuses changes no file: before, the base file kept a UNIQUE index its shards refused, and the
    /// next unshard merged the rows under it (37 of 41 acknowledged rows replaced away); a column added where a DDL went
    /// through made every later unshard fail. Each partial index below is broken by the rows of one customer only, so
    /// whichever shard holds them, the other shard (and the base file) would take it if nothing checked first.
    /// </summary>
    [Fact]
    public async Task A_ddl_any_shard_refuses_changes_no_file_and_the_table_still_unshards_whole()
    {
        var client = silo.CreateTenantClient("s_" + Guid.NewGuid().ToString("N")[..8]);
        const string Path = "/v1/tables/p2";
        await client.PostOkAsync(Path + "/ddl", """{"query":"CREATE TABLE p2(id INTEGER PRIMARY KEY, cust TEXT, v INTEGER, u INTEGER)"}""");

        // u is unique but for one pair within each customer (rows 1–8).
        var inserts = string.Join(",", Enumerable.Range(1, 40).Select(i => $$"""{"query":"INSERT INTO p2 VALUES (?, ?, ?, ?)","params":[{{i}},"c{{i % 4}}",{{i}},{{(i <= 8 ? i % 4 : i)}}]}"""));
        await client.PostOkAsync(Path + "/batch", $$"""{"statements":[{{inserts}}]}""");
        await client.PostOkAsync(Path + "/shard", """{"key":"cust","count":2}""");
        var perShard = await client.PostOkAsync(Path + "/query", """{"query":"SELECT count(*) FROM p2"}""");
        Assert.All(perShard.GetProperty("rows").EnumerateArray(), r => Assert.True(r[0].GetInt64() > 0, "both shards hold rows"));

        await client.PostErrorAsync(Path + "/ddl", """{"query":"CREATE UNIQUE INDEX uc ON p2(cust)"}""", "CONFLICT_UNIQUE", 409);
        for (var k = 0; k < 4; k++)
        {
            await client.PostErrorAsync(Path + "/ddl", $$"""{"query":"CREATE UNIQUE INDEX u{{k}} ON p2(u) WHERE cust = 'c{{k}}'"}""", "CONFLICT_UNIQUE", 409);
            await client.PostErrorAsync(Path + "/ddl", $$"""{"query":"ALTER TABLE p2 ADD COLUMN z{{k}} INTEGER; CREATE UNIQUE INDEX w{{k}} ON p2(u) WHERE cust = 'c{{k}}'"}""", "CONFLICT_UNIQUE", 409);
        }

        // No shard took any of them.
        var indexes = await client.PostOkAsync(Path + "/query", """{"query":"SELECT count(*) FROM sqlite_master WHERE type = 'index' AND tbl_name = 'p2'"}""");
        Assert.All(indexes.GetProperty("rows").EnumerateArray(), r => Assert.Equal(0, r[0].GetInt64()));
        var shardColumns = await client.PostOkAsync(Path + "/query", """{"query":"SELECT count(*) FROM pragma_table_info('p2')"}""");
        Assert.All(shardColumns.GetProperty("rows").EnumerateArray(), r => Assert.Equal(4, r[0].GetInt64()));

        // A DDL every file takes is applied to all of them.
        await client.PostOkAsync(Path + "/mutation", """{"query":"INSERT INTO p2 VALUES (1000, 'c1', 1, 1000)","shardKey":"c1"}""");
        await client.PostOkAsync(Path + "/ddl", """{"query":"CREATE INDEX ic ON p2(cust)"}""");

        var unshard = await client.PostOkAsync(Path + "/unshard", "{}");
        Assert.Equal(41, unshard.GetProperty("rowCount").GetInt64());
        var rows = await client.PostOkAsync(Path + "/query", """{"query":"SELECT count(*), sum(id) FROM p2"}""");
        Assert.Equal(41, rows.GetProperty("rows")[0][0].GetInt64());
        Assert.Equal(820 + 1000, rows.GetProperty("rows")[0][1].GetInt64());
        var schema = await client.PostOkAsync(Path + "/query", """{"query":"SELECT group_concat(name, ',') FROM (SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'p2' ORDER BY name)"}""");
        Assert.Equal("ic", schema.GetProperty("rows")[0][0].GetString());
        var columns = await client.PostOkAsync(Path + "/query", """{"query":"SELECT count(*) FROM pragma_table_info('p2')"}""");
        Assert.Equal(4, columns.GetProperty("rows")[0][0].GetInt64());
    }
}
