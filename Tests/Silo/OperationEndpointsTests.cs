using System.Text.Json;

namespace OrleansShards.Tests.Silo;

/// <summary>
/// Issue 15 item 8 over HTTP: the starting call's answer names <c>operationId</c> (chosen by the caller or new), and
/// <c>GET /v1/operations/{id}</c> answers <c>{id, kind, state, phase, done, total, startedAt, error?}</c> to its tenant only;
/// ids are scoped by tenant.
/// </summary>
[Collection(SiloCollection.Name)]
public sealed class OperationEndpointsTests(SiloFixture silo)
{
    [Fact]
    public async Task Shard_and_restore_answers_name_the_operation_and_its_record_is_served_to_the_tenant_only()
    {
        var client = silo.CreateTenantClient("opsowner");
        await client.PostOkAsync("/v1/tables/orders/ddl", """{"query":"CREATE TABLE orders (id INTEGER PRIMARY KEY, customer TEXT NOT NULL)"}""");
        var inserts = string.Join(",", Enumerable.Range(0, 30).Select(i => $$"""{"query":"INSERT INTO orders VALUES ({{i}}, 'c{{i % 4}}')"}"""));
        await client.PostOkAsync("/v1/tables/orders/batch", "{\"statements\":[" + inserts + "]}");

        var sharded = await client.PostOkAsync("/v1/tables/orders/shard", """{"key":"customer","count":2,"operationId":"http-shard-1"}""");
        var record = await client.GetOkAsync("/v1/operations/http-shard-1");

        Assert.Equal("http-shard-1", sharded.GetProperty("operationId").GetString());
        Assert.Equal("http-shard-1", record.GetProperty("id").GetString());
        Assert.Equal("shard", record.GetProperty("kind").GetString());
        Assert.Equal("completed", record.GetProperty("state").GetString());
        Assert.Equal("done", record.GetProperty("phase").GetString());
        Assert.Equal(30, record.GetProperty("done").GetInt64());
        Assert.Equal(30, record.GetProperty("total").GetInt64());
        Assert.True(record.GetProperty("startedAt").GetDateTimeOffset() <= DateTimeOffset.UtcNow);
        Assert.False(record.TryGetProperty("error", out _));

        var thief = silo.CreateTenantClient("opsthief");
        using var other = await thief.GetAsync("/v1/operations/http-shard-1");
        await SiloHttp.AssertErrorAsync(other, "NOT_FOUND", 404);

        // Ids are scoped by tenant: another tenant may use the same id for its own operation (it is neither refused as used
        // nor told the id exists), and each sees its own record.
        await thief.PostOkAsync("/v1/tables/orders/ddl", """{"query":"CREATE TABLE orders (id INTEGER PRIMARY KEY, customer TEXT NOT NULL)"}""");
        await thief.PostOkAsync("/v1/tables/orders/mutation", """{"query":"INSERT INTO orders VALUES (1, 'x')"}""");
        var theirs = await thief.PostOkAsync("/v1/tables/orders/shard", """{"key":"customer","count":2,"operationId":"http-shard-1"}""");
        Assert.Equal("http-shard-1", theirs.GetProperty("operationId").GetString());
        Assert.Equal(1, (await thief.GetOkAsync("/v1/operations/http-shard-1")).GetProperty("done").GetInt64());
        Assert.Equal(30, (await client.GetOkAsync("/v1/operations/http-shard-1")).GetProperty("done").GetInt64());
        using var unknown = await client.GetAsync("/v1/operations/no-such-operation");
        await SiloHttp.AssertErrorAsync(unknown, "NOT_FOUND", 404);

        var again = await client.PostRawAsync("/v1/tables/orders/shard", """{"key":"customer","count":2,"operationId":"http-shard-2"}""");
        await SiloHttp.AssertErrorAsync(again, "INVALID_ARGUMENT", 400); // already sharded
        var failed = await client.GetOkAsync("/v1/operations/http-shard-2");
        Assert.Equal("failed", failed.GetProperty("state").GetString());
        Assert.Equal("INVALID_ARGUMENT", failed.GetProperty("error").GetProperty("code").GetString());

        await client.PostOkAsync("/v1/tables/notes/ddl", """{"query":"CREATE TABLE notes (id INTEGER PRIMARY KEY)"}""");
        var bookmark = (await client.PostOkAsync("/v1/tables/notes/pitr/bookmark", "{}")).GetProperty("bookmark").GetString();
        await client.PostOkAsync("/v1/tables/notes/mutation", """{"query":"INSERT INTO notes VALUES (1)"}""");
        var restored = await client.PostOkAsync("/v1/tables/notes/pitr/restore", JsonSerializer.Serialize(new { bookmark }));
        var restoreId = restored.GetProperty("operationId").GetString();
        var restoreRecord = await client.GetOkAsync("/v1/operations/" + restoreId);
        Assert.Equal(("restore", "completed", 3), (restoreRecord.GetProperty("kind").GetString(), restoreRecord.GetProperty("state").GetString(), restoreRecord.GetProperty("total").GetInt32()));
    }
}
