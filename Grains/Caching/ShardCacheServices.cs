using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Orleans.Streams;

namespace OrleansShards.Grains.Caching;

/// <summary>What every shard's cache path shares: the store, options, metrics, watermarks and the invalidation stream.</summary>
internal sealed class ShardCacheServices(
    ICacheStore store,
    IOptions<ShardCacheOptions> options,
    CacheMetrics metrics,
    InvalidationWatermarks watermarks,
    IServiceProvider services)
{
    private readonly Lazy<IStreamProvider?> _streams = new(() => services.GetKeyedService<IStreamProvider>(options.Value.StreamProvider));

    public ICacheStore Store { get; } = store;

    public ShardCacheOptions Options { get; } = options.Value;

    public CacheMetrics Metrics { get; } = metrics;

    public InvalidationWatermarks Watermarks { get; } = watermarks;

    /// <summary>The invalidation stream provider, or null to call the invalidator grain directly.</summary>
    public IStreamProvider? Streams => _streams.Value;

    /// <summary>Test hook: runs after a shard read and before its populate (to force the read/invalidate race).</summary>
    internal Func<string, Task>? BeforePopulate { get; set; }

    /// <summary>Test hook: runs after a populate reached the store (key, whether it was written).</summary>
    internal Action<string, bool>? Populated { get; set; }
}
