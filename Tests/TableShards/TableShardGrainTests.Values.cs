namespace OrleansShards.Tests.TableShards;

public sealed partial class TableShardGrainTests
{
    [Fact]
    public async Task QueryAsync_returns_exact_values_when_every_kind_round_trips()
    {
        var shard = fixture.NewShard("vals");
        await shard.DdlAsync(new DdlRequest("CREATE TABLE vals(id INTEGER PRIMARY KEY, v ANY) STRICT"));
        SqlValue[] values =
        [
            long.MinValue, long.MaxValue, 0, 9007199254740993L, 3.141592653589793, -0.0, double.Epsilon, 1e308,
            "", "héllo wörld ✓ 日本語 🎉", SqlValue.Null, Array.Empty<byte>(), new byte[] { 0, 255, 1, 254, 0 },
        ];
        foreach (var value in values)
        {
            await shard.MutateAsync(new MutationRequest("INSERT INTO vals(v) VALUES (?)", [value]));
        }

        var rows = await shard.QueryAsync(new QueryRequest("SELECT v, typeof(v) FROM vals ORDER BY id"));

        Assert.Equal(values.Length, rows.Rows.Count);
        for (var i = 0; i < values.Length; i++)
        {
            Assert.Equal(values[i].Kind, rows.Rows[i][0].Kind);
            Assert.Equal(values[i], rows.Rows[i][0]);
        }

        Assert.Equal("integer", rows.Rows[0][1].AsText);
        Assert.Equal("real", rows.Rows[4][1].AsText);
        Assert.Equal("blob", rows.Rows[11][1].AsText);
        var exact = await shard.QueryAsync(new QueryRequest("SELECT count(*) FROM vals WHERE v = ?", [long.MinValue]));
        Assert.Equal(1, exact.Rows[0][0].AsInteger);
    }

    [Fact]
    public async Task GetStatsAsync_reports_rising_plan_cache_hits_when_a_query_repeats()
    {
        var shard = await ItemsAsync();
        await InsertAsync(shard, "a");
        await shard.QueryAsync(new QueryRequest("SELECT qty FROM items WHERE name = ?", ["a"]));
        var before = await shard.GetStatsAsync();

        for (var i = 0; i < 10; i++)
        {
            await shard.QueryAsync(new QueryRequest("SELECT qty FROM items WHERE name = ?", ["a"]));
        }

        var after = await shard.GetStatsAsync();
        Assert.True(after.PlanCacheHits >= before.PlanCacheHits + 10 - 4, $"hits {before.PlanCacheHits} -> {after.PlanCacheHits}");
        Assert.True(after.PlanCacheHitRate > before.PlanCacheHitRate);
        Assert.True(after.PlanCacheMisses - before.PlanCacheMisses <= 4, "each reader misses at most once");
    }
}
