using OrleansShards.Tests.Infrastructure;

namespace OrleansShards.Tests.TableShards;

public sealed class TableShardGrainSmokeTests
{
    [Fact]
    public async Task Ddl_mutation_query_roundtrip_when_fresh_shard()
    {
        await using var host = await ShardTestHost.StartAsync();
        var shard = host.Shard("t1", "items");
        await shard.DdlAsync(new DdlRequest("CREATE TABLE items(id INTEGER PRIMARY KEY, name TEXT, big INTEGER, data BLOB)"));
        var m = await shard.MutateAsync(new MutationRequest("INSERT INTO items(name, big, data) VALUES (?, ?, ?)", ["a", long.MaxValue, new byte[] { 1, 2, 3 }]));
        Assert.Equal(1, m.Changes);
        Assert.Equal(1, m.LastInsertRowId);
        Assert.NotNull(m.Bookmark);
        var q = await shard.QueryAsync(new QueryRequest("SELECT id, name, big, data FROM items WHERE id = ?", [1]));
        Assert.Equal(["id", "name", "big", "data"], q.Columns);
        Assert.Equal(long.MaxValue, q.Rows[0][2].AsInteger);
        Assert.Equal(new byte[] { 1, 2, 3 }, q.Rows[0][3].AsBlob);
        Assert.Equal("shard", q.Meta.ServedBy);
    }
}
