using OrleansShards.Tests.Infrastructure;

namespace OrleansShards.Tests.Caching;

/// <summary>
/// The read/invalidate race: a reader reads v1 from the shard, a write commits v2 and its
/// invalidation is applied, and only then does the reader's populate of v1 arrive. The populate
/// must lose (its sequence is older than the tombstone), or the cache would serve v1 until the TTL.
/// </summary>
public sealed class ReadInvalidateRaceTests
{
    [Fact]
    public async Task Populate_loses_to_newer_invalidation_when_it_arrives_after_it()
    {
        await using var host = await CacheTestHost.StartAsync(o => o.HotKeys = 0);
        var shard = await CacheTestHost.SeedAsync(host);
        var readDone = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var armed = 1;
        var populated = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        host.Cache().Populated = (key, written) =>
        {
            if (key == "t1:t:items:id:1")
            {
                populated.TrySetResult(written);
            }
        };
        host.Cache().BeforePopulate = async key =>
        {
            if (key == "t1:t:items:id:1" && Interlocked.Exchange(ref armed, 0) == 1)
            {
                readDone.SetResult();
                await release.Task;
            }
        };

        // 1. The reader misses and reads v1 from the shard; its populate is held at the barrier.
        var reader = shard.LookupRowsAsync(new RowLookupRequest(PrimaryKey: 1, Consistency: Consistency.Cached));
        await readDone.Task.WaitAsync(TimeSpan.FromSeconds(10));

        // 2. A write commits v2 and its invalidation is applied (tombstone with the commit's sequence).
        var write = await shard.MutateAsync(new MutationRequest("UPDATE items SET name = 'v2' WHERE id = 1"));
        await host.WhenAppliedAsync("t1:items", CacheTestHost.SequenceOf(write.Bookmark));

        // 3. The held populate of v1 now arrives, and is refused.
        var old = await reader;
        Assert.Equal("n1", old.Rows[0][1].AsText);
        release.SetResult();
        Assert.False(await populated.Task.WaitAsync(TimeSpan.FromSeconds(10)), "the populate of v1 was written over the newer invalidation");

        var entry = (await host.Store().GetManyAsync(["t1:t:items:id:1"]))[0];
        Assert.NotNull(entry);
        Assert.True(entry.IsTombstone, "the populate of v1 overwrote the newer invalidation");
        var next = await shard.LookupRowsAsync(new RowLookupRequest(PrimaryKey: 1, Consistency: Consistency.Cached));
        Assert.Equal("v2", next.Rows[0][1].AsText);
        var again = await shard.LookupRowsAsync(new RowLookupRequest(PrimaryKey: 1, Consistency: Consistency.Cached));
        Assert.Equal("cache", again.Meta.ServedBy);
        Assert.Equal("v2", again.Rows[0][1].AsText);
    }
}
