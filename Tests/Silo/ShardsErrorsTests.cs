using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.Data.Sqlite;
using OrleansShards.Silo.Http;

namespace OrleansShards.Tests.Silo;

/// <summary>Every error code reachable over HTTP, with its status and the JSON error shape.</summary>
[Collection(SiloCollection.Name)]
public sealed class ShardsErrorsTests(SiloFixture silo)
{
    private const string Schema = """{"query":"CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT UNIQUE, qty INTEGER NOT NULL CHECK (qty >= 0))"}""";

    private async Task<(HttpClient Client, string Tenant)> NewTableAsync()
    {
        var tenant = "e_" + Guid.NewGuid().ToString("N")[..8];
        var client = silo.CreateTenantClient(tenant);
        await client.PostOkAsync("/v1/tables/items/ddl", Schema);
        return (client, tenant);
    }

    [Theory]
    [InlineData("{\"query\": ")] // truncated
    [InlineData("not json")]
    [InlineData("")]
    [InlineData("null")]
    [InlineData("[1,2]")]
    [InlineData("{\"query\":\"SELECT 1\"} {}")] // two values
    [InlineData("{\"query\":42}")] // wrong type
    [InlineData("{\"query\":\"SELECT ?\",\"params\":\"x\"}")]
    [InlineData("{\"query\":\"SELECT ?\",\"params\":[[1]]}")]
    [InlineData("{\"query\":\"SELECT ?\",\"params\":[{\"$blob\":\"***\"}]}")]
    [InlineData("{\"query\":\"SELECT ?\",\"params\":[92233720368547758070]}")] // beyond 64 bits
    [InlineData("{\"params\":[1]}")] // query missing
    [InlineData("{\"query\":\"SELECT 1\",\"tenantId\":5}")]
    [InlineData("{\"query\":\"SELECT ?\",\"params\":[{\"$blob\":\"AA==\",\"x\":1}]}")]
    [InlineData("{\"query\":\"SELECT ?\",\"params\":[\"\\ud800\"]}")] // lone surrogate
    [InlineData("{\"query\":\"SELECT 1\",\"consistency\":\"eventual\"}")]
    [InlineData("{\"query\":\"SELECT 1\",\"maxStalenessMs\":\"soon\"}")]
    public async Task Query_answers_INVALID_ARGUMENT_when_the_body_is_malformed(string body)
    {
        var client = silo.CreateTenantClient("malformed");
        await client.PostErrorAsync("/v1/tables/items/query", body, "INVALID_ARGUMENT", 400);
    }

    [Fact]
    public async Task Routes_answer_INVALID_ARGUMENT_when_names_or_operations_are_invalid()
    {
        var client = silo.CreateTenantClient("names");
        await client.PostErrorAsync("/v1/tables/bad-name/query", """{"query":"SELECT 1"}""", "INVALID_ARGUMENT", 400);
        await client.PostErrorAsync("/v1/tables/items/transaction", """{"operation":"SAVEPOINT"}""", "INVALID_ARGUMENT", 400);
        await client.PostErrorAsync("/v1/tables/items/transaction", """{"operation":"COMMIT"}""", "INVALID_ARGUMENT", 400);
        await client.PostErrorAsync("/v1/tables/items/batch", """{"statements":[]}""", "INVALID_ARGUMENT", 400);

        var noTenant = silo.CreateTenantClient(tenant: null);
        var message = await noTenant.PostErrorAsync("/v1/tables/items/query", """{"query":"SELECT 1"}""", "INVALID_ARGUMENT", 400);
        Assert.Contains("tenant", message, StringComparison.OrdinalIgnoreCase);
        await noTenant.PostErrorAsync("/v1/tables/items/query", """{"tenantId":"../etc","query":"SELECT 1"}""", "INVALID_ARGUMENT", 400);

        using var badLookup = await client.GetAsync("/v1/tables/items/rows?a=1&b=2");
        await SiloHttp.AssertErrorAsync(badLookup, "INVALID_ARGUMENT", 400);
        using var badStaleness = await client.GetAsync("/v1/tables/items/rows/1?maxStalenessMs=-5");
        await SiloHttp.AssertErrorAsync(badStaleness, "INVALID_ARGUMENT", 400);
    }

    [Fact]
    public async Task Tenant_header_and_body_answer_INVALID_ARGUMENT_when_they_differ()
    {
        var (client, tenant) = await NewTableAsync();
        var message = await client.PostErrorAsync("/v1/tables/items/query", """{"tenantId":"someone_else","query":"SELECT 1"}""", "INVALID_ARGUMENT", 400);
        Assert.Contains("differ", message, StringComparison.Ordinal);

        // Equal values are accepted.
        await client.PostOkAsync("/v1/tables/items/query", $$"""{"tenantId":"{{tenant}}","query":"SELECT 1"}""");
    }

    [Fact]
    public async Task Query_answers_SQL_ERROR_when_the_sql_is_wrong()
    {
        var (client, _) = await NewTableAsync();
        await client.PostErrorAsync("/v1/tables/items/query", """{"query":"SELEC nonsense"}""", "SQL_ERROR", 400);
        await client.PostErrorAsync("/v1/tables/items/query", """{"query":"SELECT nope FROM items"}""", "SQL_ERROR", 400);
    }

    [Fact]
    public async Task Mutation_answers_CONFLICT_UNIQUE_and_CONSTRAINT_VIOLATION()
    {
        var (client, _) = await NewTableAsync();
        await client.PostOkAsync("/v1/tables/items/mutation", """{"query":"INSERT INTO items (id, name, qty) VALUES (1, 'a', 1)"}""");

        await client.PostErrorAsync("/v1/tables/items/mutation", """{"query":"INSERT INTO items (id, name, qty) VALUES (2, 'a', 1)"}""", "CONFLICT_UNIQUE", 409);
        await client.PostErrorAsync("/v1/tables/items/mutation", """{"query":"INSERT INTO items (id, name, qty) VALUES (1, 'b', 1)"}""", "CONFLICT_UNIQUE", 409);
        await client.PostErrorAsync("/v1/tables/items/mutation", """{"query":"INSERT INTO items (name, qty) VALUES ('c', NULL)"}""", "CONSTRAINT_VIOLATION", 409);
        await client.PostErrorAsync("/v1/tables/items/mutation", """{"query":"INSERT INTO items (name, qty) VALUES ('d', -1)"}""", "CONSTRAINT_VIOLATION", 409);
    }

    [Fact]
    public async Task Transaction_answers_TX_NOT_FOUND_when_the_id_is_unknown()
    {
        var (client, _) = await NewTableAsync();
        await client.PostErrorAsync("/v1/tables/items/transaction", """{"operation":"COMMIT","transactionId":"no-such-tx"}""", "TX_NOT_FOUND", 409);
        await client.PostErrorAsync("/v1/tables/items/mutation", """{"query":"INSERT INTO items (name, qty) VALUES ('x', 1)","transactionId":"no-such-tx"}""", "TX_NOT_FOUND", 409);
    }

    [Fact]
    public async Task Query_answers_TIMEOUT_when_a_statement_runs_past_the_statement_timeout()
    {
        var (client, _) = await NewTableAsync();
        // Endless: only the 500 ms statement timeout of the fixture stops it.
        await client.PostErrorAsync("/v1/tables/items/query",
            """{"query":"WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c"}""", "TIMEOUT", 408);

        // The shard still serves afterwards.
        await client.PostOkAsync("/v1/tables/items/query", """{"query":"SELECT count(*) FROM items"}""");
    }

    [Fact]
    public async Task Unknown_routes_answer_NOT_FOUND_json()
    {
        var client = silo.CreateTenantClient("routes");
        using var unknownV1 = await client.PostRawAsync("/v1/tables/items/nope", "{}");
        await SiloHttp.AssertErrorAsync(unknownV1, "NOT_FOUND", 404);
        using var wrongMethod = await client.GetAsync("/v1/tables/items/query");
        await SiloHttp.AssertErrorAsync(wrongMethod, "NOT_FOUND", 404);
        using var elsewhere = await client.GetAsync("/no/such/page");
        await SiloHttp.AssertErrorAsync(elsewhere, "NOT_FOUND", 404);
    }

    [Fact]
    public async Task Shard_answers_NOT_FOUND_for_a_missing_row_or_table()
    {
        var (client, _) = await NewTableAsync();
        using var row = await client.GetAsync("/v1/tables/items/rows/12345");
        await SiloHttp.AssertErrorAsync(row, "NOT_FOUND", 404);
        using var table = await client.GetAsync("/v1/tables/never_created/rows?name=x");
        await SiloHttp.AssertErrorAsync(table, "NOT_FOUND", 404);
    }

    [Fact]
    public async Task Requests_answer_PAYLOAD_TOO_LARGE_when_the_body_exceeds_the_limit()
    {
        var client = silo.CreateTenantClient("payload");
        var big = "{\"query\":\"SELECT ?\",\"params\":[\"" + new string('x', SiloFixture.MaxBodyBytes) + "\"]}";

        await client.PostErrorAsync("/v1/tables/items/query", big, "PAYLOAD_TOO_LARGE", 413);

        // Without a Content-Length (streamed): the bytes received are counted.
        using var streamed = new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes(big)));
        streamed.Headers.ContentType = new("application/json");
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/tables/items/query") { Content = streamed };
        request.Headers.TransferEncodingChunked = true;
        using var response = await client.SendAsync(request);
        await SiloHttp.AssertErrorAsync(response, "PAYLOAD_TOO_LARGE", 413);
    }

    [Fact]
    public async Task Mutation_answers_RETRYABLE_when_another_process_holds_the_write_lock()
    {
        var (client, tenant) = await NewTableAsync();
        await client.PostOkAsync("/v1/tables/items/mutation", """{"query":"INSERT INTO items (name, qty) VALUES ('first', 1)"}""");

        // Another writer (as another process would) holds the file's write lock: busy, retried, then RETRYABLE.
        var file = Path.Combine(silo.DataDirectory, tenant, "items.db");
        await using (var other = new SqliteConnection($"Data Source={file};Pooling=False;Default Timeout=1"))
        {
            await other.OpenAsync();
            await using var begin = other.CreateCommand();
            begin.CommandText = "BEGIN IMMEDIATE";
            await begin.ExecuteNonQueryAsync();

            await client.PostErrorAsync("/v1/tables/items/mutation", """{"query":"INSERT INTO items (name, qty) VALUES ('second', 1)"}""", "RETRYABLE", 503);
        }

        // Once the lock is gone the same write succeeds.
        await client.PostOkAsync("/v1/tables/items/mutation", """{"query":"INSERT INTO items (name, qty) VALUES ('second', 1)"}""");
    }

    [Fact]
    public void Classify_maps_runtime_and_framework_exceptions_to_their_codes()
    {
        Assert.Equal(ShardErrorCode.Timeout, ShardsErrors.Classify(new TimeoutException("slow")).Code);
        Assert.Equal(ShardErrorCode.InvalidArgument, ShardsErrors.Classify(new System.Text.Json.JsonException("bad")).Code);
        Assert.Equal(ShardErrorCode.PayloadTooLarge, ShardsErrors.Classify(new BadHttpRequestException("big", 413)).Code);
        Assert.Equal(ShardErrorCode.InvalidArgument, ShardsErrors.Classify(new BadHttpRequestException("bad", 400)).Code);
        Assert.Equal(ShardErrorCode.CapacityExceeded, ShardsErrors.Classify(new AggregateException(new ShardException(ShardErrorCode.CapacityExceeded, "full"))).Code);
        var (code, message) = ShardsErrors.Classify(new InvalidOperationException("secret internals"));
        Assert.Equal(ShardErrorCode.Internal, code);
        Assert.DoesNotContain("secret", message, StringComparison.Ordinal);
    }
}
