using System.Text.Json;

namespace OrleansShards.Tests.Silo;

/// <summary>The /v1/tables routes against the real engine: wire shapes and exact value round trips.</summary>
[Collection(SiloCollection.Name)]
public sealed class TableEndpointsTests(SiloFixture silo)
{
    private const string Schema = """{"query":"CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT UNIQUE, qty INTEGER NOT NULL, price REAL, data BLOB)"}""";

    private static string Unique(string prefix) => prefix + "_" + Guid.NewGuid().ToString("N")[..8];

    private async Task<(HttpClient Client, string Base)> NewTableAsync()
    {
        var client = silo.CreateTenantClient(Unique("t"));
        var path = "/v1/tables/items";
        var ddl = await client.PostOkAsync(path + "/ddl", Schema);
        Assert.True(ddl.GetProperty("ok").GetBoolean());
        return (client, path);
    }

    [Fact]
    public async Task Mutation_and_query_answer_the_documented_shapes()
    {
        var (client, path) = await NewTableAsync();

        var insert = await client.PostOkAsync(path + "/mutation", """{"query":"INSERT INTO items (name, qty, price) VALUES (?, ?, ?)","params":["apple",3,1.5]}""");
        Assert.Equal(1, insert.GetProperty("changes").GetInt64());
        Assert.Equal(1, insert.GetProperty("lastInsertRowId").GetInt64());
        Assert.False(string.IsNullOrEmpty(insert.GetProperty("bookmark").GetString()));

        var query = await client.PostOkAsync(path + "/query", """{"query":"SELECT name, qty, price FROM items WHERE qty > ?","params":[1],"consistency":"STRONG"}""");
        Assert.Equal(["name", "qty", "price"], query.GetProperty("columns").EnumerateArray().Select(c => c.GetString()!));
        var row = query.GetProperty("rows")[0];
        Assert.Equal("apple", row[0].GetString());
        Assert.Equal(3, row[1].GetInt64());
        Assert.Equal(1.5, row[2].GetDouble());
        Assert.True(query.GetProperty("rowsRead").GetInt64() >= 1);
        var meta = query.GetProperty("meta");
        Assert.Equal("shard", meta.GetProperty("servedBy").GetString());
        Assert.Equal(0, meta.GetProperty("ageMs").GetInt64());
        Assert.True(meta.TryGetProperty("bookmark", out _));
    }

    [Fact]
    public async Task Values_round_trip_exact_64_bit_integers_and_blobs()
    {
        var (client, path) = await NewTableAsync();
        byte[] blob = [0, 1, 2, 254, 255, 0, 42];
        var base64 = Convert.ToBase64String(blob);

        await client.PostOkAsync(path + "/mutation",
            $$"""{"query":"INSERT INTO items (id, name, qty, data) VALUES (?, ?, ?, ?)","params":[9223372036854775807,"max",-9223372036854775808,{"$blob":"{{base64}}"}]}""");
        await client.PostOkAsync(path + "/mutation",
            """{"query":"INSERT INTO items (id, name, qty) VALUES (?, ?, ?)","params":[9007199254740993,"beyond-double",9007199254740993]}""");

        var query = await client.PostOkAsync(path + "/query", """{"query":"SELECT id, qty, data FROM items ORDER BY id DESC"}""");
        var rows = query.GetProperty("rows");
        Assert.Equal(long.MaxValue, rows[0][0].GetInt64());
        Assert.Equal(long.MinValue, rows[0][1].GetInt64());
        Assert.Equal(blob, Convert.FromBase64String(rows[0][2].GetProperty("$blob").GetString()!));
        // 2^53 + 1 is not representable as a double: it must not pass through one.
        Assert.Equal(9007199254740993, rows[1][0].GetInt64());
        Assert.Equal("9007199254740993", rows[1][1].GetRawText());
        Assert.Equal(JsonValueKind.Null, rows[1][2].ValueKind);

        var byKey = await client.GetOkAsync(path + "/rows/9223372036854775807");
        Assert.Equal(long.MaxValue, byKey.GetProperty("rows")[0][byKey.GetProperty("columns").EnumerateArray().ToList().FindIndex(c => c.GetString() == "id")].GetInt64());
    }

    [Fact]
    public async Task Batch_applies_all_statements_and_returns_one_result_each()
    {
        var (client, path) = await NewTableAsync();

        var batch = await client.PostOkAsync(path + "/batch", """
            {"statements":[
              {"query":"INSERT INTO items (name, qty) VALUES (?, ?)","params":["a",1]},
              {"query":"INSERT INTO items (name, qty) VALUES (?, ?)","params":["b",2]},
              {"query":"UPDATE items SET qty = qty + 10"}]}
            """);
        var results = batch.GetProperty("results");
        Assert.Equal(3, results.GetArrayLength());
        Assert.Equal(2, results[2].GetProperty("changes").GetInt64());
        Assert.False(string.IsNullOrEmpty(batch.GetProperty("bookmark").GetString()));

        var sum = await client.PostOkAsync(path + "/query", """{"query":"SELECT sum(qty) FROM items"}""");
        Assert.Equal(23, sum.GetProperty("rows")[0][0].GetInt64());
    }

    [Fact]
    public async Task Batch_is_atomic_when_a_statement_fails()
    {
        var (client, path) = await NewTableAsync();

        await client.PostErrorAsync(path + "/batch", """
            {"statements":[
              {"query":"INSERT INTO items (name, qty) VALUES ('x', 1)"},
              {"query":"INSERT INTO items (name, qty) VALUES ('x', 2)"}]}
            """, "CONFLICT_UNIQUE", 409);

        var count = await client.PostOkAsync(path + "/query", """{"query":"SELECT count(*) FROM items"}""");
        Assert.Equal(0, count.GetProperty("rows")[0][0].GetInt64());
    }

    [Fact]
    public async Task Transaction_queues_statements_until_commit_and_accepts_any_case()
    {
        var (client, path) = await NewTableAsync();

        var begin = await client.PostOkAsync(path + "/transaction", """{"operation":"begin"}""");
        var tx = begin.GetProperty("transactionId").GetString();
        Assert.False(string.IsNullOrEmpty(tx));
        Assert.True(begin.GetProperty("expiresAtUnixMs").GetInt64() > DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());

        var queued = await client.PostOkAsync(path + "/mutation", $$"""{"query":"INSERT INTO items (name, qty) VALUES ('t', 5)","transactionId":"{{tx}}"}""");
        Assert.True(queued.GetProperty("queued").GetBoolean());
        var before = await client.PostOkAsync(path + "/query", """{"query":"SELECT count(*) FROM items"}""");
        Assert.Equal(0, before.GetProperty("rows")[0][0].GetInt64());

        var commit = await client.PostOkAsync(path + "/transaction", $$"""{"operation":"Commit","transactionId":"{{tx}}"}""");
        Assert.Equal(tx, commit.GetProperty("transactionId").GetString());
        Assert.Equal(1, commit.GetProperty("results")[0].GetProperty("changes").GetInt64());
        Assert.False(string.IsNullOrEmpty(commit.GetProperty("bookmark").GetString()));

        var after = await client.PostOkAsync(path + "/query", """{"query":"SELECT count(*) FROM items"}""");
        Assert.Equal(1, after.GetProperty("rows")[0][0].GetInt64());
    }

    [Fact]
    public async Task Transaction_rollback_drops_queued_statements()
    {
        var (client, path) = await NewTableAsync();
        var tx = (await client.PostOkAsync(path + "/transaction", """{"operation":"BEGIN"}""")).GetProperty("transactionId").GetString();
        await client.PostOkAsync(path + "/mutation", $$"""{"query":"INSERT INTO items (name, qty) VALUES ('r', 1)","transactionId":"{{tx}}"}""");

        var rollback = await client.PostOkAsync(path + "/transaction", $$"""{"operation":"ROLLBACK","transactionId":"{{tx}}"}""");
        Assert.True(rollback.GetProperty("rolledBack").GetBoolean());

        var count = await client.PostOkAsync(path + "/query", """{"query":"SELECT count(*) FROM items"}""");
        Assert.Equal(0, count.GetProperty("rows")[0][0].GetInt64());
    }

    [Fact]
    public async Task Rows_routes_look_up_by_primary_key_and_by_column()
    {
        var (client, path) = await NewTableAsync();
        await client.PostOkAsync(path + "/mutation", """{"query":"INSERT INTO items (id, name, qty) VALUES (7, 'seven', 70), (8, '42', 80)"}""");

        var byKey = await client.GetOkAsync(path + "/rows/7?consistency=strong");
        Assert.Equal(1, byKey.GetProperty("rows").GetArrayLength());
        Assert.Contains(byKey.GetProperty("rows")[0].EnumerateArray(), v => v.ValueKind == JsonValueKind.String && v.GetString() == "seven");

        using var missing = await client.GetAsync(path + "/rows/9");
        await SiloHttp.AssertErrorAsync(missing, "NOT_FOUND", 404);

        // "42" is a TEXT value of column name, looked up as the integer 42 would not match.
        var textKey = await client.GetOkAsync(path + "/rows/8");
        Assert.Contains(textKey.GetProperty("rows")[0].EnumerateArray(), v => v.ValueKind == JsonValueKind.String && v.GetString() == "42");

        var byColumn = await client.GetOkAsync(path + "/rows?name=seven&consistency=cached&maxStalenessMs=100");
        Assert.Equal(1, byColumn.GetProperty("rows").GetArrayLength());
    }

    [Fact]
    public async Task Stats_report_the_shard_and_its_counters()
    {
        var (client, path) = await NewTableAsync();
        await client.PostOkAsync(path + "/mutation", """{"query":"INSERT INTO items (name, qty) VALUES ('s', 1)"}""");

        var stats = await client.GetOkAsync(path + "/stats");
        Assert.EndsWith(":items", stats.GetProperty("shard").GetString(), StringComparison.Ordinal);
        Assert.True(stats.GetProperty("sizeBytes").GetInt64() > 0);
        Assert.True(stats.GetProperty("maxSizeBytes").GetInt64() > 0);
        Assert.True(stats.GetProperty("rowsWritten").GetInt64() >= 1);
    }

    [Fact]
    public async Task Stats_refresh_measures_the_file_again_when_rows_grew()
    {
        var (client, path) = await NewTableAsync();
        var before = (await client.PostOkAsync(path + "/stats/refresh", "{}")).GetProperty("sizeBytes").GetInt64();
        await client.PostOkAsync(path + "/mutation", """{"query":"INSERT INTO items (name, qty) VALUES (zeroblob(262144), 1)"}""");

        var after = (await client.PostOkAsync(path + "/stats/refresh", "{}")).GetProperty("sizeBytes").GetInt64();
        Assert.True(after >= before + 256 * 1024, $"size {before} -> {after}");
    }

    [Fact]
    public async Task Pitr_bookmark_names_this_shard_and_advances_with_commits()
    {
        var (client, path) = await NewTableAsync();
        var tenant = client.DefaultRequestHeaders.GetValues("X-Tenant-Id").Single();
        var before = (await client.PostOkAsync(path + "/pitr/bookmark", "{}")).GetProperty("bookmark").GetString();
        var write = await client.PostOkAsync(path + "/mutation", """{"query":"INSERT INTO items (name, qty) VALUES ('keep', 1)"}""");
        var after = (await client.PostOkAsync(path + "/pitr/bookmark", "{}")).GetProperty("bookmark").GetString();

        Assert.True(Bookmark.Parse(after, tenant, "items").Sequence > Bookmark.Parse(before, tenant, "items").Sequence);
        Assert.Equal(write.GetProperty("bookmark").GetString(), after);
        var atNow = await client.PostOkAsync(path + "/pitr/bookmark", $$"""{"at":{{DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() + 1000}}}""");
        Assert.Equal(after, atNow.GetProperty("bookmark").GetString());

        // Restore reaches the shard, which validates the bookmark.
        await client.PostErrorAsync(path + "/pitr/restore", """{"bookmark":"not-a-bookmark"}""", "INVALID_ARGUMENT", 400);
        await client.PostErrorAsync(path + "/pitr/restore", "{}", "INVALID_ARGUMENT", 400);
    }

    [Fact]
    public async Task Tenant_in_body_is_used_when_no_header_is_sent()
    {
        var tenant = Unique("body");
        var client = silo.CreateTenantClient(tenant: null);
        await client.PostOkAsync("/v1/tables/notes/ddl", $$"""{"tenantId":"{{tenant}}","query":"CREATE TABLE notes (id INTEGER PRIMARY KEY)"}""");
        await client.PostOkAsync("/v1/tables/notes/mutation", $$"""{"tenantId":"{{tenant}}","query":"INSERT INTO notes VALUES (1)"}""");

        // The same tenant through the header and the query parameter sees the row.
        var viaQuery = await client.GetOkAsync($"/v1/tables/notes/rows/1?tenantId={tenant}");
        Assert.Equal(1, viaQuery.GetProperty("rows").GetArrayLength());
        Assert.True(File.Exists(Path.Combine(silo.DataDirectory, tenant, "notes.db")));
    }
}
