using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Caching.StackExchangeRedis;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Orleans.Clustering.Redis;
using Orleans.Configuration;
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

    [Fact]
    public async Task A_cluster_silos_configured_key_prefix_holds_both_its_cache_keys_and_its_invalidation_streams()
    {
        var id = "pfx" + Guid.NewGuid().ToString("N")[..8];
        await using var silo = new RedisKestrelSilo(redis.Configuration, id, keyPrefix: "custom-" + id + "/");
        await silo.InitializeAsync();
        Assert.Equal("custom-" + id + "/", silo.Services.GetRequiredService<IOptions<OrleansShards.Grains.Caching.RedisCacheOptions>>().Value.KeyPrefix);
        Assert.Equal("custom-" + id + "/orleansshards:streams", silo.Services.GetOptionsByName<OrleansShards.Grains.Streams.Redis.RedisStreamOptions>("redis").KeyPrefix);

        // A write's invalidation goes out on a stream under that prefix.
        var shard = silo.Grains.GetGrain<ITableShard>(ShardName.Format("t1", "prefixed"));
        await shard.DdlAsync(new DdlRequest("CREATE TABLE prefixed(id INTEGER PRIMARY KEY)"));
        await shard.MutateAsync(new MutationRequest("INSERT INTO prefixed(id) VALUES (1)"));
        Assert.Single((await shard.LookupRowsAsync(new RowLookupRequest(SqlValue.FromInteger(1), Consistency: Consistency.Cached))).Rows);
        await shard.MutateAsync(new MutationRequest("DELETE FROM prefixed WHERE id = 1"));
        var server = redis.Connection.GetServer(redis.Connection.GetEndPoints()[0]);
        await Eventually.TrueAsync(() => server.Keys(pattern: "custom-" + id + "/orleansshards:streams*").Any(), "an invalidation stream under the configured prefix");
        Assert.DoesNotContain(server.Keys(pattern: id + "/orleansshards:streams*"), _ => true);
    }

    [Fact]
    public async Task Cluster_silo_runs_membership_reminders_ownership_map_stream_and_cache_on_one_multiplexer()
    {
        var id = "mux" + Guid.NewGuid().ToString("N")[..8];
        await using var silo = new RedisKestrelSilo(redis.Configuration, cluster: id);
        await silo.InitializeAsync();
        var multiplexer = Assert.Single(silo.Services.GetServices<IConnectionMultiplexer>());

        // Orleans' membership table and reminder table take the silo's multiplexer as shared (they do not dispose it).
        var clustering = silo.Services.GetRequiredService<IOptions<RedisClusteringOptions>>().Value;
        var (membershipMux, membershipShared) = await clustering.CreateMultiplexer(clustering);
        Assert.Same(multiplexer, membershipMux);
        Assert.True(membershipShared);
        var reminders = silo.Services.GetRequiredService<IOptions<RedisReminderTableOptions>>().Value;
        var (remindersMux, remindersShared) = await reminders.CreateMultiplexer(reminders);
        Assert.Same(multiplexer, remindersMux);
        Assert.True(remindersShared);
        Assert.True(silo.Services.GetRequiredKeyedService<RedisStreamConnection>("redis").IsShared);
        Assert.IsType<RedisCacheStore>(silo.Services.GetRequiredService<ICacheStore>());

        // A shard created in cluster mode is recorded in the ownership map, read here over the same multiplexer.
        var ownership = silo.Services.GetRequiredService<OrleansShards.Grains.Cluster.IShardOwnership>();
        Assert.True(ownership.IsDistributed);
        var shard = silo.Grains.GetGrain<ITableShard>(ShardName.Format("t1", "muxed"));
        await shard.DdlAsync(new DdlRequest("CREATE TABLE muxed(id INTEGER PRIMARY KEY)"));
        var before = multiplexer.OperationCount;
        var owner = await ownership.GetAsync(ShardName.Format("t1", "muxed"));
        Assert.Equal(id, owner?.Primary);
        Assert.True(multiplexer.OperationCount > before, $"operations on the shared multiplexer: {before} -> {multiplexer.OperationCount}");
        Assert.True(await redis.Connection.GetDatabase().HashExistsAsync($"{id}/shards", ShardName.Format("t1", "muxed")));

        // The cache's and the invalidation stream's keys are under the service's prefix, as the map's: two services
        // sharing one Redis never read each other's cached rows.
        Assert.Equal(id + "/", silo.Services.GetRequiredService<IOptions<OrleansShards.Grains.Caching.RedisCacheOptions>>().Value.KeyPrefix);
        Assert.Equal(id + "/orleansshards:streams", silo.Services.GetOptionsByName<OrleansShards.Grains.Streams.Redis.RedisStreamOptions>("redis").KeyPrefix);
        await shard.MutateAsync(new MutationRequest("INSERT INTO muxed(id) VALUES (1)"));
        var row = await shard.LookupRowsAsync(new RowLookupRequest(SqlValue.FromInteger(1), Consistency: Consistency.Cached));
        Assert.Single(row.Rows);
        await Eventually.TrueAsync(
            () => redis.Connection.GetServer(redis.Connection.GetEndPoints()[0]).Keys(pattern: id + "/t1:*").Any(),
            "a cache entry under the service's prefix");
        Assert.DoesNotContain(redis.Connection.GetServer(redis.Connection.GetEndPoints()[0]).Keys(pattern: "t1:*muxed*"), _ => true);
    }
}
