using Microsoft.Extensions.DependencyInjection;
using OrleansShards.Grains.Caching;
using OrleansShards.Tests.Infrastructure;

namespace OrleansShards.Tests.Caching;

/// <summary>
/// Commits carry invalidation events only while a row or index entry of the shard may be served
/// (<see cref="CacheInterest"/>): the rule itself, and the shard that follows it.
/// </summary>
public sealed class CacheInterestTests
{
    private static readonly TimeSpan Lifetime = TimeSpan.FromSeconds(90);

    private static RowLookupRequest ByPk(long pk) => new(PrimaryKey: pk, Consistency: Consistency.Cached);

    [Fact]
    public void EventsNeeded_only_while_an_admitted_entry_can_still_be_served()
    {
        var interest = new CacheInterest(Lifetime);
        Assert.False(interest.EventsNeeded(1, 1_000));
        Assert.Equal(1, interest.QuietThrough);

        Assert.True(interest.TryAdmit(stamp: 1, readAtMs: 2_000));
        Assert.True(interest.EventsNeeded(2, 2_000));
        Assert.True(interest.EventsNeeded(3, 2_000 + 90_000));
        Assert.False(interest.EventsNeeded(4, 2_000 + 90_001));
        Assert.Equal(4, interest.QuietThrough);
    }

    [Fact]
    public void TryAdmit_refuses_a_stamp_older_than_a_quiet_commit_yet_turns_events_on()
    {
        var interest = new CacheInterest(Lifetime);
        Assert.False(interest.EventsNeeded(5, 1_000));

        // Rows read before commit 5 may predate it, and no event will invalidate them.
        Assert.False(interest.TryAdmit(stamp: 4, readAtMs: 1_000));
        Assert.True(interest.EventsNeeded(6, 1_001));

        // A read that started at or after commit 5 holds it.
        Assert.True(interest.TryAdmit(stamp: 5, readAtMs: 1_002));
        Assert.Equal(5, interest.QuietThrough);
    }

    [Fact]
    public async Task Writes_publish_no_invalidation_until_a_row_of_the_shard_is_cached()
    {
        using var dir = new TempDirectory("interest");
        await using var host = await CacheTestHost.StartAsync(o => o.HotKeys = 0, dataDirectory: dir.Path);
        var shard = await CacheTestHost.SeedAsync(host);
        var invalidator = host.Grains.GetGrain<ICacheInvalidator>("t1:items");
        var schemaOnly = await invalidator.GetStatsAsync();
        for (var i = 0; i < 5; i++)
        {
            await shard.MutateAsync(new MutationRequest("UPDATE items SET qty = qty + 1 WHERE id = 1"));
        }

        // No event: nothing applied beyond the schema's flush, no outbox row, yet every commit is in the change log.
        var write = await shard.MutateAsync(new MutationRequest("UPDATE items SET qty = 0 WHERE id = 2"));
        var quiet = await invalidator.GetStatsAsync();
        Assert.Equal(schemaOnly.EventsApplied, quiet.EventsApplied);
        Assert.Equal(schemaOnly.Watermark, quiet.Watermark);
        Assert.Equal(0, Count(dir, "_outbox", CacheTestHost.SequenceOf(write.Bookmark)));
        Assert.Equal(3 + 6, Count(dir, "_changes", CacheTestHost.SequenceOf(write.Bookmark)) - Count(dir, "_changes", schemaOnly.Watermark));

        // A cached read turns events on: the next write invalidates the entry it populated.
        Assert.Equal("shard", (await shard.LookupRowsAsync(ByPk(1))).Meta.ServedBy);
        Assert.Equal("cache", (await shard.LookupRowsAsync(ByPk(1))).Meta.ServedBy);
        var update = await shard.MutateAsync(new MutationRequest("UPDATE items SET name = 'changed' WHERE id = 1"));
        await host.WhenAppliedAsync("t1:items", CacheTestHost.SequenceOf(update.Bookmark));
        var entry = (await host.Store().GetManyAsync(["t1:t:items:id:1"]))[0]!;
        Assert.True(entry.IsTombstone);
        var after = await shard.LookupRowsAsync(ByPk(1));
        Assert.Equal("shard", after.Meta.ServedBy);
        Assert.Equal("changed", after.Rows[0][1].AsText);
    }

    [Fact]
    public async Task Events_stop_once_every_cached_row_is_too_old_to_serve()
    {
        var time = new FakeTimeProvider();
        await using var host = await CacheTestHost.StartAsync(o => { o.Ttl = TimeSpan.FromSeconds(60); o.StaleWindow = TimeSpan.FromSeconds(30); o.HotKeys = 0; }, time);
        var shard = await CacheTestHost.SeedAsync(host);
        time.Advance(TimeSpan.FromSeconds(1));
        await shard.LookupRowsAsync(ByPk(1));

        // Within the entry's lifetime: the write is invalidated.
        time.Advance(TimeSpan.FromSeconds(89));
        var live = await shard.MutateAsync(new MutationRequest("UPDATE items SET name = 'live' WHERE id = 2"));
        await host.WhenAppliedAsync("t1:items", CacheTestHost.SequenceOf(live.Bookmark));

        // Past it: no entry can be served, and the write carries no event.
        time.Advance(TimeSpan.FromSeconds(1) + TimeSpan.FromMilliseconds(1));
        await shard.MutateAsync(new MutationRequest("UPDATE items SET name = 'quiet' WHERE id = 1"));
        var stats = await host.Grains.GetGrain<ICacheInvalidator>("t1:items").GetStatsAsync();
        Assert.Equal(CacheTestHost.SequenceOf(live.Bookmark), stats.Watermark);
        var read = await shard.LookupRowsAsync(ByPk(1));
        Assert.Equal("shard", read.Meta.ServedBy);
        Assert.Equal("quiet", read.Rows[0][1].AsText);
    }

    [Fact]
    public async Task Entries_of_an_earlier_activation_are_not_served()
    {
        using var dir = new TempDirectory("interest-activation");
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var store = new MemoryCacheStore(time);
        await using (var first = await CacheTestHost.StartAsync(o => o.HotKeys = 0, time, dir.Path, s => s.AddSingleton<ICacheStore>(store)))
        {
            var shard = await CacheTestHost.SeedAsync(first);
            await shard.LookupRowsAsync(ByPk(1));
            Assert.Equal("cache", (await shard.LookupRowsAsync(ByPk(1))).Meta.ServedBy);
        }

        // The entry is still in the store and young; the next activation writes the row without an event
        // (it has cached nothing yet), so the entry is stale, and must not be served.
        time.Advance(TimeSpan.FromSeconds(1));
        await using var second = await CacheTestHost.StartAsync(o => o.HotKeys = 0, time, dir.Path, s => s.AddSingleton<ICacheStore>(store));
        var again = second.Shard("t1", "items");
        await again.MutateAsync(new MutationRequest("UPDATE items SET name = 'second' WHERE id = 1"));
        Assert.False((await store.GetManyAsync(["t1:t:items:id:1"]))[0]!.IsTombstone);
        var read = await again.LookupRowsAsync(ByPk(1));
        Assert.Equal("shard", read.Meta.ServedBy);
        Assert.Equal("second", read.Rows[0][1].AsText);
    }

    private static long Count(TempDirectory dir, string table, long throughSequence)
    {
        using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={dir.Combine("t1", "items.db")};Pooling=false");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = $"SELECT count(*) FROM {table} WHERE seq <= $seq";
        command.Parameters.AddWithValue("$seq", throughSequence);
        return (long)command.ExecuteScalar()!;
    }
}
