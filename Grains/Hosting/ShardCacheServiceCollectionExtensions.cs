using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using OrleansShards.Grains.Caching;

namespace OrleansShards.Grains.Hosting;

/// <summary>Registers the shards' cache: store, invalidator grains, metrics, and <see cref="IDistributedCache"/> for apps.</summary>
public static class ShardCacheServiceCollectionExtensions
{
    /// <summary>
    /// Adds the cache layer with the in-memory store unless another store (e.g. <see cref="AddRedisCache"/>)
    /// is registered: <see cref="ICacheStore"/>, <see cref="IDistributedCache"/>, the
    /// <see cref="ICacheInvalidator"/> grain, and the <see cref="CacheMetrics.MeterName"/> meter.
    /// Options are validated at start. <c>AddTableShards</c> calls it with defaults.
    /// </summary>
    public static IServiceCollection AddShardCache(this IServiceCollection services, Action<ShardCacheOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = services.AddOptions<ShardCacheOptions>().ValidateOnStart();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        if (services.Any(d => d.ServiceType == typeof(CacheLayerMarker)))
        {
            return services;
        }

        services.AddSingleton<CacheLayerMarker>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ShardCacheOptions>, ShardCacheOptionsValidator>());
        services.AddMetrics();
        services.TryAddShardClock();
        services.TryAddSingleton<ICacheStore>(sp => new MemoryCacheStore(
            ShardClock.Get(sp), sp.GetRequiredService<IOptions<ShardCacheOptions>>().Value.MemoryMaxEntries));
        services.TryAddSingleton<IDistributedCache>(sp => new DistributedCacheAdapter(sp.GetRequiredService<ICacheStore>(), ShardClock.Get(sp)));
        services.TryAddSingleton<CacheMetrics>();
        services.TryAddSingleton<InvalidationWatermarks>();
        services.TryAddSingleton<ShardCacheServices>();
        return services;
    }

    /// <summary>
    /// Uses Redis as the cache store (and behind <see cref="IDistributedCache"/>) instead of memory.
    /// Options are validated at start; the connection is made on first use, so the host starts while
    /// Redis is down (reads then go to the shards).
    /// </summary>
    public static IServiceCollection AddRedisCache(this IServiceCollection services, Action<RedisCacheOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = services.AddOptions<RedisCacheOptions>().ValidateOnStart();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<RedisCacheOptions>, RedisCacheOptionsValidator>());
        services.RemoveAll<ICacheStore>();
        services.AddSingleton<ICacheStore>(sp => new RedisCacheStore(
            sp.GetRequiredService<IOptions<RedisCacheOptions>>().Value, ShardClock.Get(sp)));
        return services.AddShardCache();
    }

    private sealed class CacheLayerMarker;
}
