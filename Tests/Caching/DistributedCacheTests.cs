using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Caching.StackExchangeRedis;
using Microsoft.Extensions.DependencyInjection;
using OrleansShards.Grains.Caching;
using OrleansShards.Grains.Hosting;
using OrleansShards.Grains.Streams.Redis;
using OrleansShards.Tests.Infrastructure;
using StackExchange.Redis;

namespace OrleansShards.Tests.Caching;

/// <summary>
/// <see cref="IDistributedCache"/> for applications comes from the libraries (AddDistributedMemoryCache; Microsoft.Extensions.Caching.StackExchangeRedis),
/// and with Redis the cache store, the applications' cache and the stream provider share one <see cref="IConnectionMultiplexer"/>.
/// </summary>
[Collection(RedisCollection.Name)]
public sealed class DistributedCacheTests(RedisServerFixture redis)
{
    [Fact]
    public async Task AddShardCache_registers_the_memory_distributed_cache_when_redis_is_not_configured()
    {
        await using var host = await CacheTestHost.StartAsync();
        var cache = host.Services.GetRequiredService<IDistributedCache>();
        Assert.IsType<MemoryDistributedCache>(cache);
        await cache.SetStringAsync("app:s", "v", new DistributedCacheEntryOptions { AbsoluteExpirationRelativeToNow = TimeSpan.FromMinutes(1) });
        Assert.Equal("v", await cache.GetStringAsync("app:s"));
        await cache.RemoveAsync("app:s");
        Assert.Null(await cache.GetStringAsync("app:s"));
    }

    [Fact]
    public async Task AddRedisCache_serves_applications_through_the_redis_distributed_cache_on_the_shared_multiplexer()
    {
        await using var host = await ShardTestHost.StartAsync(services: s => s.AddRedisCache(o =>
        {
            o.Configuration = redis.Configuration;
            o.ConnectTimeout = TimeSpan.FromSeconds(10);
        }));
        var cache = host.Services.GetRequiredService<IDistributedCache>();
        Assert.IsAssignableFrom<RedisCache>(cache);
        var multiplexer = host.Services.GetRequiredService<IConnectionMultiplexer>();
        var key = "app:" + Guid.NewGuid().ToString("N");
        var before = multiplexer.OperationCount;

        await cache.SetAsync(key, [1, 2, 3], new DistributedCacheEntryOptions { AbsoluteExpirationRelativeToNow = TimeSpan.FromMinutes(1) });
        Assert.Equal([1, 2, 3], await cache.GetAsync(key));
        Assert.True(await redis.Connection.GetDatabase().KeyExistsAsync(key));
        await cache.RemoveAsync(key);
        Assert.Null(await cache.GetAsync(key));

        // The application's operations went over the silo's multiplexer, not a connection of their own.
        Assert.True(multiplexer.OperationCount >= before + 4, $"operations on the shared multiplexer: {before} -> {multiplexer.OperationCount}");
        Assert.IsType<RedisCacheStore>(host.Services.GetRequiredService<ICacheStore>());
    }

    [Fact]
    public async Task Silo_with_redis_configured_shares_one_multiplexer_between_cache_and_stream_provider()
    {
        await using var silo = new RedisKestrelSilo(redis.Configuration);
        await silo.InitializeAsync();
        Assert.Single(silo.Services.GetServices<IConnectionMultiplexer>());
        var streams = silo.Services.GetRequiredKeyedService<RedisStreamConnection>("redis");
        Assert.True(streams.IsShared);
        Assert.IsType<RedisCacheStore>(silo.Services.GetRequiredService<ICacheStore>());
        Assert.IsAssignableFrom<RedisCache>(silo.Services.GetRequiredService<IDistributedCache>());
    }

    private sealed class RedisKestrelSilo : KestrelSilo, IAsyncDisposable
    {
        public RedisKestrelSilo(string configuration)
        {
            Settings["Shards:Redis:Configuration"] = configuration;
        }

        ValueTask IAsyncDisposable.DisposeAsync() => new(DisposeAsync());
    }
}
