using System.Text.Json;

namespace OrleansShards.Tests.Silo;

/// <summary>
/// Status codes of issue 15 item 11: arguments are INVALID_ARGUMENT (413 is for bodies), numbers are numbers and
/// milliseconds are not negative in bodies as in query strings, and stats name the default consistency as a string.
/// </summary>
[Collection(SiloCollection.Name)]
public sealed class StatusCodeTests(SiloFixture silo)
{
    private const string Table = "/v1/tables/codes";

    private async Task<HttpClient> ClientWithTableAsync()
    {
        var client = silo.CreateTenantClient("codes");
        await client.PostOkAsync(Table + "/ddl", """{"query":"CREATE TABLE IF NOT EXISTS codes (id INTEGER PRIMARY KEY, v TEXT)"}""");
        return client;
    }

    [Fact]
    public async Task Query_answers_INVALID_ARGUMENT_when_it_has_too_many_parameters()
    {
        var client = await ClientWithTableAsync();
        var marks = string.Join(",", Enumerable.Repeat("?", 150));
        var values = string.Join(",", Enumerable.Repeat("1", 150));
        var message = await client.PostErrorAsync(Table + "/query", $$"""{"query":"SELECT {{marks}}","params":[{{values}}]}""", "INVALID_ARGUMENT", 400);
        Assert.Contains("variables", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Shard_answers_INVALID_ARGUMENT_when_count_is_a_string()
    {
        var client = await ClientWithTableAsync();
        var message = await client.PostErrorAsync(Table + "/shard", """{"key":"id","count":"2"}""", "INVALID_ARGUMENT", 400);
        Assert.Contains("count", message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Bodies_answer_INVALID_ARGUMENT_when_milliseconds_are_negative()
    {
        var client = await ClientWithTableAsync();
        var staleness = await client.PostErrorAsync(Table + "/query", """{"query":"SELECT 1","consistency":"bounded","maxStalenessMs":-5}""", "INVALID_ARGUMENT", 400);
        Assert.Contains("maxStalenessMs", staleness, StringComparison.Ordinal);
        var timeout = await client.PostErrorAsync(Table + "/shards/query", """{"query":"SELECT 1","timeoutMs":-5}""", "INVALID_ARGUMENT", 400);
        Assert.Contains("timeoutMs", timeout, StringComparison.Ordinal);
    }

    /// <summary>
    /// A member named twice is refused, never "the last one wins": a proxy that checked the first <c>tenantId</c> must not
    /// have the store act on the second.
    /// </summary>
    [Fact]
    public async Task Bodies_answer_INVALID_ARGUMENT_when_a_member_is_named_twice()
    {
        var client = await ClientWithTableAsync();
        using var anonymous = silo.CreateTenantClient(null);
        await client.PostErrorAsync(Table + "/query", """{"query":"SELECT 1","query":"SELECT 2"}""", "INVALID_ARGUMENT", 400);
        await anonymous.PostErrorAsync(Table + "/query", """{"tenantId":"other","query":"SELECT 1","tenantId":"codes"}""", "INVALID_ARGUMENT", 400);
        await client.PostErrorAsync(Table + "/batch", """{"statements":[{"query":"SELECT 1","params":[1],"params":[2]}]}""", "INVALID_ARGUMENT", 400);
    }

    [Fact]
    public async Task Stats_name_the_default_consistency_as_a_string()
    {
        var client = await ClientWithTableAsync();
        var stats = await client.GetOkAsync(Table + "/stats");
        var consistency = stats.GetProperty("cache").GetProperty("defaultConsistency");
        Assert.Equal(JsonValueKind.String, consistency.ValueKind);
        Assert.Equal("strong", consistency.GetString());
    }

    [Fact]
    public void OperationInProgress_is_409_and_retryable()
    {
        Assert.Equal(409, ShardErrorCode.OperationInProgress.ToHttpStatus());
        Assert.True(ShardErrorCode.OperationInProgress.IsRetryable());
        Assert.Equal(ShardErrorCode.OperationInProgress, ShardErrorCodes.FromWire(ShardErrorCode.OperationInProgress.ToWire()));
    }
}
