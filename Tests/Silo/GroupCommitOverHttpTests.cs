using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using OrleansShards.Tests.Infrastructure;

namespace OrleansShards.Tests.Silo;

/// <summary>
/// Group commit through the real HTTP stack (Kestrel, sockets): a lone write commits on its request's thread, and
/// writes that arrive while another one is committing queue and share commits. The in-memory test server runs a
/// request on the sending thread, so it cannot show this; requests here come in on connections of their own.
/// </summary>
public sealed class GroupCommitOverHttpTests
{
    [Fact]
    public async Task Concurrent_mutations_behind_a_running_write_share_commits()
    {
        var silo = new KestrelSilo();
        await silo.InitializeAsync();
        try
        {
            using var client = new HttpClient { BaseAddress = silo.Url };
            client.DefaultRequestHeaders.Add("X-Tenant-Id", "acme");
            await PostAsync(client, "ddl", """{"query":"CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT, qty INTEGER)"}""");
            var before = (await client.GetFromJsonAsync<JsonElement>("/v1/tables/items/stats")).GetProperty("commits").GetInt64();

            // A write that runs for a while holds the shard's writer; the 32 sent meanwhile queue behind it.
            var slow = PostAsync(client, "mutation",
                """{"query":"INSERT INTO items (name, qty) SELECT 'slow', count(*) FROM (WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 3000000) SELECT i FROM s)"}""");
            var inserts = Enumerable.Range(0, 32)
                .Select(i => PostAsync(client, "mutation", $$"""{"query":"INSERT INTO items (name, qty) VALUES (?, ?)","params":["n{{i}}",{{i}}]}"""))
                .ToList();
            await slow;
            var ids = (await Task.WhenAll(inserts)).Select(r => r.GetProperty("lastInsertRowId").GetInt64()).ToHashSet();

            var commits = (await client.GetFromJsonAsync<JsonElement>("/v1/tables/items/stats")).GetProperty("commits").GetInt64() - before;
            Assert.Equal(32, ids.Count);
            var count = await PostAsync(client, "query", """{"query":"SELECT count(*) FROM items"}""");
            Assert.Equal(33, count.GetProperty("rows")[0][0].GetInt64());
            Assert.True(commits <= 8, $"33 mutations took {commits} commits");
        }
        finally
        {
            await silo.DisposeAsync();
        }
    }

    private static async Task<JsonElement> PostAsync(HttpClient client, string route, string json)
    {
        using var response = await client.PostAsync("/v1/tables/items/" + route, new StringContent(json, Encoding.UTF8, "application/json"));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode}: {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }
}
