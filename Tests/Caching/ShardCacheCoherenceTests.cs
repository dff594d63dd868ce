using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using OrleansShards.Grains.Caching;
using OrleansShards.Grains.Storage;
using OrleansShards.Grains.Writes;
using OrleansShards.Tests.Infrastructure;

namespace OrleansShards.Tests.Caching;

/// <summary>
/// The cache side of one shard (<see cref="ShardCacheCoherence"/>) as a plain class, without a silo: what a read may
/// take from the cache after a schema change, from an earlier activation, and past its staleness bound.
/// </summary>
public sealed class ShardCacheCoherenceTests : IDisposable
{
    private readonly TempDirectory _data = new("coherence");
    private readonly ShardConnection _connection;
    private readonly FakeTimeProvider _time = new(DateTimeOffset.UtcNow);
    private readonly ShardCacheServices _cache;
    private readonly ShardCacheCoherence _coherence;

    public ShardCacheCoherenceTests()
    {
        _connection = new ShardConnection(Path.Combine(_data.Path, "items.db"), readOnly: false, planCacheSize: 16);
        ShardSchema.Migrate(_connection);
        _connection.Execute("CREATE TABLE items(id INTEGER PRIMARY KEY, name TEXT)");
        var options = Options.Create(new ShardCacheOptions { Ttl = TimeSpan.FromSeconds(10), StaleWindow = TimeSpan.FromSeconds(60) });
        _cache = new ShardCacheServices(
            new MemoryCacheStore(_time), options, new CacheMetrics(), new InvalidationWatermarks(), new ServiceCollection().BuildServiceProvider());
        _coherence = new ShardCacheCoherence(
            "t1:items", "t1", "items", _cache, _time, grains: null!, warm: _ => Task.FromResult(new WarmResult(0, 0)), NullLogger.Instance);
        _coherence.Opening();
        _time.Advance(TimeSpan.FromMilliseconds(5));
        _coherence.Attach(_connection);
    }

    public void Dispose()
    {
        _connection.Dispose();
        _data.Dispose();
    }

    private long Now => _time.GetUtcNow().ToUnixTimeMilliseconds();

    private Task<bool> PopulateAsync(string key, long sequence, bool versioned) =>
        _coherence.PopulateAsync(key, ["id", "name"], [[SqlValue.FromInteger(1), SqlValue.FromText("a")]], sequence, Now, versioned);

    [Fact]
    public async Task A_schema_change_retires_every_entry_read_before_it_and_the_table_info()
    {
        var key = CacheKeys.Query("t1", "items", 1, CacheKeys.Hash("SELECT * FROM items", null));
        Assert.True(await PopulateAsync(key, sequence: 1, versioned: true));
        var hit = await _coherence.TryGetAsync(key, Consistency.Cached, null, 0, versioned: true, CancellationToken.None);
        Assert.NotNull(hit);
        Assert.False(hit.Value.Stale);
        Assert.NotNull(_coherence.TableInfo);

        // The writer's observer sees a DDL commit at sequence 2.
        ICommitObserver observer = _coherence;
        var ddl = "ALTER TABLE items ADD COLUMN qty INTEGER";
        observer.BeforeCommit(new CommitContext(_connection, 2, Now, null, ddl));
        var group = new CommittedGroup(2, Now, null, ddl);
        observer.Committed(group);
        observer.Acknowledged(group);

        Assert.Null(_coherence.TableInfo);
        Assert.Null(await _coherence.TryGetAsync(key, Consistency.Cached, null, 0, versioned: true, CancellationToken.None));
        Assert.False(await PopulateAsync(key, sequence: 1, versioned: true));
    }

    [Fact]
    public async Task A_row_entry_an_earlier_activation_stored_is_never_served_and_one_of_this_activation_is()
    {
        var info = _coherence.TableInfo!;
        var (sql, key) = _coherence.PlanLookup(info, null, SqlValue.FromInteger(1));
        Assert.Equal("SELECT * FROM \"items\" WHERE \"id\" = ?", sql);
        Assert.NotNull(key);

        // Stored before this activation started opening: its invalidation window is unknown here.
        await _cache.Store.SetManyAsync([new CacheWrite(key, CachedRows.Encode(["id"], [[SqlValue.FromInteger(1)]]), 1, _coherence.ActivatedAtMs - 1, TimeSpan.FromMinutes(5))]);
        Assert.Null(await _coherence.TryGetAsync(key, Consistency.Cached, null, 0, versioned: false, CancellationToken.None));

        // Read and stored by this activation (admitted: its events are on): served.
        Assert.True(await PopulateAsync(key, sequence: 1, versioned: false));
        Assert.NotNull(await _coherence.TryGetAsync(key, Consistency.Cached, null, 0, versioned: false, CancellationToken.None));

        // A lookup on a column that is not indexed is refused, typed.
        var error = Assert.Throws<ShardException>(() => _coherence.PlanLookup(info, "name", SqlValue.FromText("a")));
        Assert.Equal(ShardErrorCode.InvalidArgument, error.Code);
    }

    [Fact]
    public async Task Bounded_reads_hold_to_their_staleness_and_cached_reads_see_an_old_entry_as_stale()
    {
        var key = CacheKeys.Query("t1", "items", 1, CacheKeys.Hash("SELECT 1", null));
        Assert.True(await PopulateAsync(key, sequence: 1, versioned: true));
        _time.Advance(TimeSpan.FromSeconds(3));

        Assert.NotNull(await _coherence.TryGetAsync(key, Consistency.Bounded, 5_000, 0, versioned: true, CancellationToken.None));
        Assert.Null(await _coherence.TryGetAsync(key, Consistency.Bounded, 2_000, 0, versioned: true, CancellationToken.None));
        Assert.Null(await _coherence.TryGetAsync(key, Consistency.Cached, null, minSequence: 2, versioned: true, CancellationToken.None));

        // A versioned entry lives for the TTL; a row entry past the TTL (within its lifetime) is served as stale.
        var (_, rowKey) = _coherence.PlanLookup(_coherence.TableInfo!, null, SqlValue.FromInteger(1));
        Assert.True(await PopulateAsync(rowKey!, sequence: 1, versioned: false));
        _time.Advance(TimeSpan.FromSeconds(11));
        Assert.Null(await _coherence.TryGetAsync(key, Consistency.Cached, null, 0, versioned: true, CancellationToken.None));
        var stale = await _coherence.TryGetAsync(rowKey!, Consistency.Cached, null, 0, versioned: false, CancellationToken.None);
        Assert.NotNull(stale);
        Assert.True(stale.Value.Stale);
        Assert.Equal(11_000, stale.Value.AgeMs);
    }
}
