using Microsoft.Extensions.DependencyInjection;
using OrleansShards.Grains.Caching;
using OrleansShards.Tests.Infrastructure;

namespace OrleansShards.Tests.Caching;

/// <summary>
/// A schema change's flush applied late. The stream delivers a commit's event some time after the commit was
/// acknowledged (the memory stream is pulled every few ms, later on a loaded machine), so a warm or a populate made
/// after the commit can reach the store before the flush does. The flush removes only what is older than its
/// commit: an entry stamped at or after it already reflects the new schema and stays served. (It removed every
/// entry of the table, so <c>CacheEndpointsTests.Warm_makes_the_next_cached_read_a_cache_hit_over_http</c> was
/// answered by the shard when the seed's flush arrived after its warm.)
/// </summary>
public sealed class LateFlushTests
{
    private const string Shard = "t1:items";

    [Fact]
    public async Task Late_schema_flush_keeps_entries_warmed_after_the_schema_change()
    {
        var store = new HeldFlushStore(new MemoryCacheStore(TimeProvider.System));
        await using var host = await CacheTestHost.StartAsync(o => o.HotKeys = 0, services: s => s.AddSingleton<ICacheStore>(store));
        try
        {
            var shard = host.Shard("t1", "items");

            // 1. The schema commits; the invalidator has its flush and is held before it touches the store.
            var ddl = await shard.DdlAsync(new DdlRequest("CREATE TABLE items(id INTEGER PRIMARY KEY, name TEXT, color TEXT); CREATE INDEX items_color ON items(color)"));
            var flushSequence = CacheTestHost.SequenceOf(ddl.Bookmark);
            await store.FlushHeld.WaitAsync(TimeSpan.FromSeconds(20));
            await shard.MutateAsync(new MutationRequest("INSERT INTO items(id, name, color) VALUES (1, 'one', 'blue'), (2, 'two', 'red')"));

            // 2. The warm, while the flush is in flight: entries stamped after the schema change.
            var warm = await shard.WarmAsync(new WarmRequest(PrimaryKeys: [1], Lookups: [new ColumnLookup("color", "blue")]));
            Assert.Equal(2, warm.Warmed);
            var warmed = await store.GetManyAsync(["t1:t:items:id:1", "t1:idx:items:color:blue"]);
            Assert.All(warmed, e => Assert.True(e is { IsTombstone: false } && e.Sequence > flushSequence));

            // 3. The flush of the older commit arrives, and is applied.
            store.Release();
            await host.WhenAppliedAsync(Shard, flushSequence);

            // 4. The warmed entries are still there, and the next cached reads are hits.
            Assert.All(await store.GetManyAsync(["t1:t:items:id:1", "t1:idx:items:color:blue"]), e => Assert.False(e is null || e.IsTombstone));
            var byKey = await shard.LookupRowsAsync(new RowLookupRequest(PrimaryKey: 1, Consistency: Consistency.Cached));
            Assert.Equal("cache", byKey.Meta.ServedBy);
            Assert.Equal("one", byKey.Rows[0][1].AsText);
            var byColor = await shard.LookupRowsAsync(new RowLookupRequest(Column: "color", Value: "blue", Consistency: Consistency.Cached));
            Assert.Equal("cache", byColor.Meta.ServedBy);
            Assert.Equal(1, Assert.Single(byColor.Rows)[0].AsInteger);
        }
        finally
        {
            store.Release();
        }
    }

    [Fact]
    public async Task Late_schema_flush_still_removes_entries_older_than_the_schema_change()
    {
        var store = new HeldFlushStore(new MemoryCacheStore(TimeProvider.System)) { Armed = false };
        await using var host = await CacheTestHost.StartAsync(o => o.HotKeys = 0, services: s => s.AddSingleton<ICacheStore>(store));
        try
        {
            var shard = await CacheTestHost.SeedAsync(host);
            await shard.WarmAsync(new WarmRequest(PrimaryKeys: [1], Lookups: [new ColumnLookup("color", "blue")]));
            var before = await store.GetManyAsync(["t1:t:items:id:1", "t1:idx:items:color:blue"]);
            Assert.All(before, e => Assert.False(e is null || e.IsTombstone));

            // A schema change after the warm: its flush (held, then applied) removes both entries.
            store.Armed = true;
            var ddl = await shard.DdlAsync(new DdlRequest("ALTER TABLE items ADD COLUMN extra TEXT DEFAULT 'x'"));
            await store.FlushHeld.WaitAsync(TimeSpan.FromSeconds(20));
            store.Release();
            await host.WhenAppliedAsync(Shard, CacheTestHost.SequenceOf(ddl.Bookmark));
            Assert.All(await store.GetManyAsync(["t1:t:items:id:1", "t1:idx:items:color:blue"]), Assert.Null);
            var after = await shard.LookupRowsAsync(new RowLookupRequest(PrimaryKey: 1, Consistency: Consistency.Cached));
            Assert.Equal("shard", after.Meta.ServedBy);
            Assert.Contains("extra", after.Columns);
        }
        finally
        {
            store.Release();
        }
    }

    /// <summary>A memory store whose first flush (while <see cref="Armed"/>) waits for <see cref="Release"/> before it removes anything.</summary>
    private sealed class HeldFlushStore(MemoryCacheStore inner) : ICacheStore
    {
        private readonly TaskCompletionSource _held = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public bool Armed { get; set; } = true;

        /// <summary>Completes once a flush is waiting.</summary>
        public Task FlushHeld => _held.Task;

        public string Kind => inner.Kind;

        public void Release() => _release.TrySetResult();

        public Task<CacheEntry?[]> GetManyAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken = default) =>
            inner.GetManyAsync(keys, cancellationToken);

        public Task<int> SetManyAsync(IReadOnlyList<CacheWrite> writes, CancellationToken cancellationToken = default) =>
            inner.SetManyAsync(writes, cancellationToken);

        public Task InvalidateManyAsync(IReadOnlyList<string> keys, long sequence, TimeSpan tombstoneLifetime, CancellationToken cancellationToken = default) =>
            inner.InvalidateManyAsync(keys, sequence, tombstoneLifetime, cancellationToken);

        public async Task<long> RemoveByPrefixAsync(string prefix, long sequence, CancellationToken cancellationToken = default)
        {
            if (Armed)
            {
                _held.TrySetResult();
                await _release.Task;
            }

            return await inner.RemoveByPrefixAsync(prefix, sequence, cancellationToken);
        }
    }
}
