using Microsoft.Extensions.DependencyInjection;
using OrleansShards.Silo.Http;

namespace OrleansShards.Tests.Silo;

/// <summary>The per-silo concurrency limit (OVERLOADED) and the shard size limit (CAPACITY_EXCEEDED), on a silo with tiny limits.</summary>
public sealed class ShardsRequestLimiterTests(LimitedSiloFixture silo) : IClassFixture<LimitedSiloFixture>
{
    [Fact]
    public async Task Requests_answer_OVERLOADED_when_every_slot_is_taken()
    {
        var client = silo.CreateTenantClient("busy");
        _ = client; // the host starts with the first client
        var limiter = silo.Services.GetRequiredService<ShardsRequestLimiter>();
        await client.PostOkAsync("/v1/tables/items/ddl", """{"query":"CREATE TABLE IF NOT EXISTS items (id INTEGER PRIMARY KEY)"}""");

        // The fixture allows one request at a time: take that slot as an in-flight request would.
        Assert.True(limiter.TryAcquire());
        try
        {
            await client.PostErrorAsync("/v1/tables/items/query", """{"query":"SELECT 1"}""", "OVERLOADED", 429);
            using var get = await client.GetAsync("/v1/tables/items/stats");
            await SiloHttp.AssertErrorAsync(get, "OVERLOADED", 429);
        }
        finally
        {
            limiter.Release();
        }

        await client.PostOkAsync("/v1/tables/items/query", """{"query":"SELECT 1"}""");
        Assert.Equal(0, limiter.InFlight);
    }

    [Fact]
    public async Task Mutation_answers_CAPACITY_EXCEEDED_when_the_shard_reaches_its_size_limit()
    {
        var client = silo.CreateTenantClient("full");
        await client.PostOkAsync("/v1/tables/blobs/ddl", """{"query":"CREATE TABLE blobs (id INTEGER PRIMARY KEY, data BLOB)"}""");
        var chunk = Convert.ToBase64String(new byte[16 * 1024]);

        HttpResponseMessage? refused = null;
        for (var i = 0; i < 64 && refused is null; i++)
        {
            var response = await client.PostRawAsync("/v1/tables/blobs/mutation", $$"""{"query":"INSERT INTO blobs (data) VALUES (?)","params":[{"$blob":"{{chunk}}"}]}""");
            if (response.IsSuccessStatusCode)
            {
                response.Dispose();
            }
            else
            {
                refused = response;
            }
        }

        Assert.NotNull(refused);
        using (refused)
        {
            await SiloHttp.AssertErrorAsync(refused, "CAPACITY_EXCEEDED", 507);
        }

        // Reads still work on a full shard.
        var count = await client.PostOkAsync("/v1/tables/blobs/query", """{"query":"SELECT count(*) FROM blobs"}""");
        Assert.True(count.GetProperty("rows")[0][0].GetInt64() > 0);
    }
}
