using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using OrleansShards.Grains.Caching;
using StackExchange.Redis;
using AppRedisCacheOptions = Microsoft.Extensions.Caching.StackExchangeRedis.RedisCacheOptions;

namespace OrleansShards.Grains.Hosting;

/// <summary>Registers the shards' cache: store, invalidator grains, metrics, and <see cref="IDistributedCache"/> for apps.</summary>
public static class ShardCacheServiceCollectionExtensions
{
    /// <summary>
    /// Adds the cache layer with the in-memory store unless another store (e.g. <see cref="AddRedisCache"/>)
    /// is registered: <see cref="ICacheStore"/> (the shards' sequence-stamped entries), the
    /// <see cref="ICacheInvalidator"/> grain, the <see cref="CacheMetrics.MeterName"/> meter, and for applications
    /// <see cref="IDistributedCache"/> from <c>AddDistributedMemoryCache</c> unless one is registered.
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
        services.AddDistributedMemoryCache();
        services.TryAddSingleton<CacheMetrics>();
        services.TryAddSingleton<InvalidationWatermarks>();
        services.TryAddSingleton<ShardCacheServices>();
        return services;
    }

    /// <summary>
    /// Uses Redis as the cache store instead of memory, and Microsoft.Extensions.Caching.StackExchangeRedis as
    /// the applications' <see cref="IDistributedCache"/>. Both use the one <see cref="IConnectionMultiplexer"/> of
    /// the silo (registered here from <see cref="RedisCacheOptions.Configuration"/> unless one already is; the Redis
    /// stream provider uses it too). Options are validated at start; the connection is made on first use, so the
    /// host starts while Redis is down (reads then go to the shards).
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
        services.TryAddSingleton<IConnectionMultiplexer>(static sp =>
        {
            var redis = sp.GetRequiredService<IOptions<RedisCacheOptions>>().Value;
            return RedisConnectionServiceCollectionExtensions.Connect(sp, redis.Configuration, redis.ConnectTimeout);
        });
        services.RemoveAll<ICacheStore>();
        services.AddSingleton<ICacheStore>(sp => new RedisCacheStore(
            sp.GetRequiredService<IConnectionMultiplexer>, sp.GetRequiredService<IOptions<RedisCacheOptions>>().Value, ShardClock.Get(sp)));
        services.RemoveAll<IDistributedCache>();
        services.AddStackExchangeRedisCache(static _ => { });
        services.AddOptions<AppRedisCacheOptions>().Configure<IServiceProvider>(static (app, sp) =>
            app.ConnectionMultiplexerFactory = () => Task.Run(sp.GetRequiredService<IConnectionMultiplexer>));
        return services.AddShardCache();
    }

    private sealed class CacheLayerMarker;
}
