using OrleansShards.Grains.Caching;
using OrleansShards.Tests.Infrastructure;

namespace OrleansShards.Tests.Caching;

public sealed class MemoryCacheStoreTests
{
    private readonly FakeTimeProvider _time = new();

    private MemoryCacheStore Store(int max = 1000) => new(_time, max);

    [Fact]
    public async Task SetManyAsync_refuses_older_sequence_when_tombstone_is_newer()
    {
        var store = Store();
        await store.InvalidateManyAsync(["k"], 10, TimeSpan.FromMinutes(1));
        var written = await store.SetManyAsync([new CacheWrite("k", [1], 9, 0, TimeSpan.FromMinutes(1))]);
        Assert.Equal(0, written);
        var entry = (await store.GetManyAsync(["k"]))[0];
        Assert.True(entry!.IsTombstone);
        Assert.Equal(10, entry.Sequence);
        Assert.Equal(1, await store.SetManyAsync([new CacheWrite("k", [2], 10, 0, TimeSpan.FromMinutes(1))]));
        Assert.False((await store.GetManyAsync(["k"]))[0]!.IsTombstone);
    }

    [Fact]
    public async Task InvalidateManyAsync_keeps_entry_when_entry_reflects_the_invalidating_commit()
    {
        var store = Store();
        await store.SetManyAsync([new CacheWrite("a", [1], 7, 0, TimeSpan.FromMinutes(1)), new CacheWrite("b", [1], 3, 0, TimeSpan.FromMinutes(1))]);
        await store.InvalidateManyAsync(["a", "b"], 5, TimeSpan.FromMinutes(1));
        var entries = await store.GetManyAsync(["a", "b"]);
        Assert.False(entries[0]!.IsTombstone);
        Assert.True(entries[1]!.IsTombstone);
    }

    [Fact]
    public async Task GetManyAsync_returns_null_when_lifetime_passed()
    {
        var store = Store();
        await store.SetManyAsync([new CacheWrite("k", [1], 1, 0, TimeSpan.FromSeconds(5))]);
        _time.Advance(TimeSpan.FromSeconds(6));
        Assert.Null((await store.GetManyAsync(["k"]))[0]);
    }

    [Fact]
    public async Task SetManyAsync_keeps_tombstones_when_trimming_to_capacity()
    {
        var store = Store(max: 10);
        await store.InvalidateManyAsync(["t"], 100, TimeSpan.FromMinutes(1));
        for (var i = 0; i < 50; i++)
        {
            await store.SetManyAsync([new CacheWrite("k" + i, [1], 1, 0, TimeSpan.FromMinutes(1))]);
        }

        Assert.True(store.Count <= 11);
        Assert.True((await store.GetManyAsync(["t"]))[0]!.IsTombstone);
    }

    [Fact]
    public async Task A_store_full_of_unexpired_tombstones_is_not_swept_on_every_write()
    {
        // A burst of inserts leaves a tombstone per new key for an entry's lifetime; none can be dropped.
        var store = Store(max: 100);
        for (var i = 0; i < 1000; i++)
        {
            await store.InvalidateManyAsync(["t" + i], i + 1, TimeSpan.FromMinutes(1));
        }

        var before = store.Sweeps;
        for (var i = 0; i < 10_000; i++)
        {
            await store.InvalidateManyAsync(["u" + i], i + 1, TimeSpan.FromMinutes(1));
        }

        // A sweep reads every slot: one per (slots / 10) writes, not one per write.
        Assert.InRange(store.Sweeps - before, 1, 200);
        Assert.True((await store.GetManyAsync(["t0"]))[0]!.IsTombstone);

        // Once they expire, the next sweeps free them.
        _time.Advance(TimeSpan.FromMinutes(2));
        for (var i = 0; i < 2000; i++)
        {
            await store.SetManyAsync([new CacheWrite("k" + i, [1], 1, 0, TimeSpan.FromMinutes(1))]);
        }

        Assert.True(store.Count <= 200, $"{store.Count} entries after the tombstones expired");
    }

    [Fact]
    public async Task RemoveByPrefixAsync_removes_only_matching_keys()
    {
        var store = Store();
        await store.SetManyAsync([new CacheWrite("t1:t:a:id:1", [1], 1, 0, TimeSpan.FromMinutes(1)), new CacheWrite("t1:t:ab:id:1", [1], 1, 0, TimeSpan.FromMinutes(1))]);
        Assert.Equal(1, await store.RemoveByPrefixAsync("t1:t:a:", 2));
        Assert.NotNull((await store.GetManyAsync(["t1:t:ab:id:1"]))[0]);
    }

    [Fact]
    public async Task RemoveByPrefixAsync_keeps_entries_and_tombstones_at_or_above_the_flush_sequence()
    {
        // A flush arriving late: entries stored after its commit (7, 5) and a newer tombstone (6) already reflect it.
        var store = Store();
        await store.SetManyAsync([
            new CacheWrite("t1:t:a:id:1", [1], 7, 0, TimeSpan.FromMinutes(1)),
            new CacheWrite("t1:t:a:id:2", [1], 5, 0, TimeSpan.FromMinutes(1)),
            new CacheWrite("t1:t:a:id:3", [1], 4, 0, TimeSpan.FromMinutes(1))]);
        await store.InvalidateManyAsync(["t1:t:a:id:4"], 6, TimeSpan.FromMinutes(1));
        await store.InvalidateManyAsync(["t1:t:a:id:5"], 2, TimeSpan.FromMinutes(1));
        Assert.Equal(2, await store.RemoveByPrefixAsync("t1:t:a:", 5));
        var entries = await store.GetManyAsync(["t1:t:a:id:1", "t1:t:a:id:2", "t1:t:a:id:3", "t1:t:a:id:4", "t1:t:a:id:5"]);
        Assert.Equal([7, 5], entries[..2].Select(e => e!.Sequence));
        Assert.Null(entries[2]);
        Assert.True(entries[3]!.IsTombstone);
        Assert.Null(entries[4]);
    }
}
