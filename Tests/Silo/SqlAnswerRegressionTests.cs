using System.Diagnostics;
using System.Text.Json;

namespace OrleansShards.Tests.Silo;

/// <summary>
/// Answers that must be exactly SQLite's, and input that must be refused, over the real HTTP host. Each test names
/// the defect it guards (the integrity issue's items 6, 7, 8, 10 and 13).
/// </summary>
[Collection(SiloCollection.Name)]
public sealed class SqlAnswerRegressionTests(SiloFixture silo)
{
    private const string Path = "/v1/tables/t";

    private async Task<HttpClient> NewTableAsync(string schema = "CREATE TABLE t(id INTEGER PRIMARY KEY, a)")
    {
        var client = silo.CreateTenantClient("s_" + Guid.NewGuid().ToString("N")[..8]);
        await client.PostOkAsync(Path + "/ddl", JsonSerializer.Serialize(new { query = schema }));
        return client;
    }

    private static Task<JsonElement> QueryAsync(HttpClient client, string sql, string? consistency = null) =>
        client.PostOkAsync(Path + "/query", JsonSerializer.Serialize(new { query = sql, consistency }));

    [Fact]
    public async Task Regression_a_schema_change_left_readers_answering_with_the_old_columns()
    {
        var client = await NewTableAsync("CREATE TABLE t(a)");
        await client.PostOkAsync(Path + "/mutation", """{"query":"INSERT INTO t VALUES (1)"}""");
        for (var i = 0; i < 4; i++)
        {
            // Every reader of the pool prepares the statement with one column.
            await QueryAsync(client, "SELECT * FROM t");
        }

        await client.PostOkAsync(Path + "/ddl", """{"query":"ALTER TABLE t ADD COLUMN b DEFAULT 7"}""");
        for (var i = 0; i < 4; i++)
        {
            var answer = await QueryAsync(client, "SELECT * FROM t");
            Assert.Equal("""["a","b"]""", answer.GetProperty("columns").GetRawText());
            Assert.Equal("[[1,7]]", answer.GetProperty("rows").GetRawText());
        }

        var cached = await QueryAsync(client, "SELECT * FROM t", "cached");
        Assert.Equal("[[1,7]]", cached.GetProperty("rows").GetRawText());
    }

    [Fact]
    public async Task Regression_a_whole_REAL_came_back_as_a_JSON_integer_and_infinity_as_text()
    {
        var client = await NewTableAsync();
        var answer = await QueryAsync(client, "SELECT 2.0, CAST(3 AS REAL), -0.0, 1e300 * 1e300, -1e300 * 1e300, 2, 0.5, 1e20");
        Assert.Equal("""[[2.0,3.0,-0.0,{"$real":"Infinity"},{"$real":"-Infinity"},2,0.5,1E+20]]""", answer.GetProperty("rows").GetRawText());

        // The encodings read back as the same values.
        await client.PostOkAsync(Path + "/mutation", """{"query":"INSERT INTO t(id, a) VALUES (1, ?), (2, ?), (3, ?)","params":[2.0,{"$real":"Infinity"},2]}""");
        var types = await QueryAsync(client, "SELECT typeof(a), a FROM t ORDER BY id");
        Assert.Equal("""[["real",2.0],["real",{"$real":"Infinity"}],["integer",2]]""", types.GetProperty("rows").GetRawText());
    }

    [Fact]
    public async Task Regression_lastInsertRowId_showed_an_internal_change_log_rowid_after_an_update()
    {
        var client = await NewTableAsync();
        var insert = await client.PostOkAsync(Path + "/mutation", """{"query":"INSERT INTO t(id, a) VALUES (3, 'x')"}""");
        Assert.Equal(3, insert.GetProperty("lastInsertRowId").GetInt64());

        var update = await client.PostOkAsync(Path + "/mutation", """{"query":"UPDATE t SET a = 'y' WHERE id = 3"}""");
        Assert.Equal(3, update.GetProperty("lastInsertRowId").GetInt64());
        var delete = await client.PostOkAsync(Path + "/mutation", """{"query":"DELETE FROM t WHERE id = 99"}""");
        Assert.Equal(3, delete.GetProperty("lastInsertRowId").GetInt64());
        var none = await client.PostOkAsync(Path + "/mutation", """{"query":"INSERT INTO t(id, a) SELECT 10, 'z' WHERE 0"}""");
        Assert.Equal(3, none.GetProperty("lastInsertRowId").GetInt64());
    }

    [Fact]
    public async Task Regression_a_NUL_inside_SQL_truncated_the_statement()
    {
        var client = await NewTableAsync();
        await client.PostOkAsync(Path + "/mutation", """{"query":"INSERT INTO t(id, a) VALUES (1, 'a'), (2, 'b')"}""");

        await client.PostErrorAsync(Path + "/mutation", "{\"query\":\"DELETE FROM t WHERE id = 1\\u0000 OR 1=1\"}", "INVALID_ARGUMENT", 400);
        await client.PostErrorAsync(Path + "/query", "{\"query\":\"SELECT 1\\u0000\"}", "INVALID_ARGUMENT", 400);
        await client.PostErrorAsync(Path + "/batch", "{\"statements\":[{\"query\":\"DELETE FROM t\\u0000\"}]}", "INVALID_ARGUMENT", 400);

        var count = await QueryAsync(client, "SELECT count(*) FROM t");
        Assert.Equal("[[2]]", count.GetProperty("rows").GetRawText());
    }

    [Fact]
    public async Task Regression_a_NUL_in_DDL_pinned_a_core_and_took_the_table_down()
    {
        var client = await NewTableAsync();
        var watch = Stopwatch.StartNew();
        await client.PostErrorAsync(Path + "/ddl", "{\"query\":\"CREATE TABLE u(x);\\u0000CREATE TABLE v(y)\"}", "INVALID_ARGUMENT", 400);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5), $"the refusal took {watch.Elapsed}");

        // The table still answers.
        await client.PostOkAsync(Path + "/mutation", """{"query":"INSERT INTO t(id, a) VALUES (1, 'a')"}""");
        Assert.Equal("[[1]]", (await QueryAsync(client, "SELECT count(*) FROM t")).GetProperty("rows").GetRawText());
    }

    [Fact]
    public async Task Regression_a_transactionId_on_ddl_and_batch_was_silently_ignored()
    {
        var client = await NewTableAsync();
        await client.PostErrorAsync(Path + "/ddl", """{"query":"CREATE TABLE u(x)","transactionId":"tx1"}""", "INVALID_ARGUMENT", 400);
        await client.PostErrorAsync(Path + "/batch", """{"statements":[{"query":"INSERT INTO t(a) VALUES (1)"}],"transactionId":"tx1"}""", "INVALID_ARGUMENT", 400);
        await client.PostErrorAsync(Path + "/query", """{"query":"SELECT 1","bogus":true}""", "INVALID_ARGUMENT", 400);
        Assert.Equal("[[0]]", (await QueryAsync(client, "SELECT count(*) FROM t")).GetProperty("rows").GetRawText());
    }

    [Fact]
    public async Task Regression_a_number_beyond_a_REAL_became_an_infinity_and_a_member_name_in_another_case_was_taken()
    {
        var client = await NewTableAsync();
        await client.PostErrorAsync(Path + "/mutation", """{"query":"INSERT INTO t(a) VALUES (?)","params":[1e400]}""", "INVALID_ARGUMENT", 400);
        await client.PostErrorAsync(Path + "/mutation", """{"query":"INSERT INTO t(a) VALUES (?)","params":[{"$real":-1e400}]}""", "INVALID_ARGUMENT", 400);

        // Names match exactly: a proxy checking "tenantId" must not be bypassed by "TENANTID" (nor "Query" taken for "query").
        await client.PostErrorAsync(Path + "/query", """{"Query":"SELECT 1"}""", "INVALID_ARGUMENT", 400);
        await client.PostErrorAsync(Path + "/query", """{"query":"SELECT 1","TENANTID":"other"}""", "INVALID_ARGUMENT", 400);

        // What is accepted: an underflow rounds to 0.0, true/false are 1/0, NaN is stored as NULL (as SQLite does).
        await client.PostOkAsync(Path + "/mutation", """{"query":"INSERT INTO t(id, a) VALUES (1, ?), (2, ?), (3, ?)","params":[1e-400,true,{"$real":"NaN"}]}""");
        var rows = await QueryAsync(client, "SELECT typeof(a), a FROM t ORDER BY id");
        Assert.Equal("""[["real",0.0],["integer",1],["null",null]]""", rows.GetProperty("rows").GetRawText());
    }

    [Fact]
    public async Task Regression_minBookmark_was_not_validated()
    {
        var client = await NewTableAsync();
        var write = await client.PostOkAsync(Path + "/mutation", """{"query":"INSERT INTO t(id, a) VALUES (1, 'a')"}""");
        var bookmark = write.GetProperty("bookmark").GetString()!;

        // Its own bookmark: served, for every consistency and for row reads.
        foreach (var consistency in new[] { "strong", "cached", "bounded" })
        {
            var ok = await client.PostOkAsync(Path + "/query", JsonSerializer.Serialize(new { query = "SELECT a FROM t", consistency, minBookmark = bookmark }));
            Assert.Equal("""[["a"]]""", ok.GetProperty("rows").GetRawText());
        }

        await client.GetOkAsync(Path + "/rows/1?minBookmark=" + Uri.EscapeDataString(bookmark));

        // Garbage and another shard's bookmark: INVALID_ARGUMENT.
        await client.PostErrorAsync(Path + "/query", """{"query":"SELECT 1","minBookmark":"garbage"}""", "INVALID_ARGUMENT", 400);
        var foreign = Bookmark.Parse(bookmark) with { Table = "other" };
        await client.PostErrorAsync(Path + "/query", JsonSerializer.Serialize(new { query = "SELECT 1", minBookmark = foreign.ToString() }), "INVALID_ARGUMENT", 400);

        // Far ahead of the shard: waits a bounded time, then RETRYABLE (503).
        var ahead = Bookmark.Parse(bookmark) with { Sequence = Bookmark.Parse(bookmark).Sequence + 1_000 };
        await client.PostErrorAsync(Path + "/query", JsonSerializer.Serialize(new { query = "SELECT 1", minBookmark = ahead.ToString() }), "RETRYABLE", 503);
        using var row = await client.GetAsync(Path + "/rows/1?minBookmark=" + Uri.EscapeDataString(ahead.ToString()));
        await SiloHttp.AssertErrorAsync(row, "RETRYABLE", 503);
    }

    [Fact]
    public async Task Regression_an_idempotency_key_reused_with_another_request_replayed_the_first_outcome()
    {
        var client = await NewTableAsync();
        var first = await client.PostOkAsync(Path + "/mutation", """{"query":"INSERT INTO t(id, a) VALUES (1, 'a')","idempotencyKey":"k1"}""");

        // The same request again: the first outcome, not run again.
        var again = await client.PostOkAsync(Path + "/mutation", """{"query":"INSERT INTO t(id, a) VALUES (1, 'a')","idempotencyKey":"k1"}""");
        Assert.Equal(first.GetProperty("bookmark").GetString(), again.GetProperty("bookmark").GetString());

        // Another request with the same key, in any route: refused, nothing runs.
        await client.PostErrorAsync(Path + "/mutation", """{"query":"DELETE FROM t","idempotencyKey":"k1"}""", "IDEMPOTENCY_MISMATCH", 409);
        await client.PostErrorAsync(Path + "/mutation", """{"query":"INSERT INTO t(id, a) VALUES (?, 'a')","params":[2],"idempotencyKey":"k1"}""", "IDEMPOTENCY_MISMATCH", 409);
        await client.PostErrorAsync(Path + "/batch", """{"statements":[{"query":"DELETE FROM t"}],"idempotencyKey":"k1"}""", "IDEMPOTENCY_MISMATCH", 409);
        var begin = await client.PostOkAsync(Path + "/transaction", """{"operation":"BEGIN"}""");
        var tx = begin.GetProperty("transactionId").GetString();
        await client.PostOkAsync(Path + "/mutation", JsonSerializer.Serialize(new { query = "DELETE FROM t", transactionId = tx }));
        await client.PostErrorAsync(Path + "/transaction", JsonSerializer.Serialize(new { operation = "COMMIT", transactionId = tx, idempotencyKey = "k1" }), "IDEMPOTENCY_MISMATCH", 409);

        Assert.Equal("[[1]]", (await QueryAsync(client, "SELECT count(*) FROM t")).GetProperty("rows").GetRawText());
    }

    [Fact]
    public async Task Regression_a_tenant_could_create_and_address_a_partition_name()
    {
        var client = silo.CreateTenantClient("p_" + Guid.NewGuid().ToString("N")[..8]);
        await client.PostErrorAsync("/v1/tables/x__s1/ddl", """{"query":"CREATE TABLE t(a)"}""", "INVALID_ARGUMENT", 400);
        await client.PostErrorAsync("/v1/tables/x__s1/query", """{"query":"SELECT 1"}""", "INVALID_ARGUMENT", 400);
        using var stats = await client.GetAsync("/v1/tables/x__s12/stats");
        await SiloHttp.AssertErrorAsync(stats, "INVALID_ARGUMENT", 400);

        // Names that only look alike stay allowed.
        await client.PostOkAsync("/v1/tables/x__sx/ddl", """{"query":"CREATE TABLE t(a)"}""");
    }

    [Fact]
    public async Task Regression_an_unbounded_result_was_built_whole_in_memory()
    {
        var client = await NewTableAsync();

        // 400 rows of 2 MB each would be an 800 MB answer: refused while produced, after the byte cap (16 MiB).
        var watch = Stopwatch.StartNew();
        await client.PostErrorAsync(
            Path + "/query",
            """{"query":"WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 400) SELECT randomblob(2000000) FROM c"}""",
            "RESULT_TOO_LARGE",
            400);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(20), $"the refusal took {watch.Elapsed}");

        // Too many rows, however small.
        await client.PostErrorAsync(
            Path + "/query",
            """{"query":"WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 200000) SELECT x FROM c"}""",
            "RESULT_TOO_LARGE",
            400);

        // A result within the caps is served.
        var small = await QueryAsync(client, "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1000) SELECT count(*) FROM c");
        Assert.Equal("[[1000]]", small.GetProperty("rows").GetRawText());
    }
}
