using System.Diagnostics;
using OrleansShards.Grains.Caching;
using OrleansShards.Grains.Hosting;
using OrleansShards.Grains.Streams.Redis;
using OrleansShards.Tests.Infrastructure;

namespace OrleansShards.Tests.Caching;

/// <summary>Redis stopped and started under a running silo that uses it for cache and invalidation stream.</summary>
[Collection(RedisCollection.Name)]
public sealed class RedisFaultTests(RedisServerFixture redis)
{
    private Task<ShardTestHost> StartAsync() => ShardTestHost.StartAsync(
        silo: silo => silo.AddRedisStreams("redis", o =>
        {
            o.Configuration = redis.Configuration;
            o.KeyPrefix = "faults:" + Guid.NewGuid().ToString("N");
        }),
        services: s =>
    {
        s.AddRedisCache(o =>
        {
            o.Configuration = redis.Configuration;
            o.BreakDuration = TimeSpan.FromMilliseconds(200);
        });
        s.AddShardCache(o => { o.StreamProvider = "redis"; o.PublishRetryDelay = TimeSpan.FromMilliseconds(100); });
    });

    [Fact]
    public async Task Shard_keeps_serving_and_catches_up_when_redis_stops_and_starts()
    {
        await using var host = await StartAsync();
        var shard = await CacheTestHost.SeedAsync(host, tenant: "f" + Guid.NewGuid().ToString("N")[..8]);
        var shardKey = (await shard.GetStatsAsync()).Shard;
        var cached = new RowLookupRequest(PrimaryKey: 1, Consistency: Consistency.Cached);
        await shard.LookupRowsAsync(cached);
        await WaitUntilAsync(async () => (await shard.LookupRowsAsync(cached)).Meta.ServedBy == "cache");

        await redis.StopAsync();
        try
        {
            // Writes and strong reads are untouched; cached reads fall back to the shard without errors.
            var write = await shard.MutateAsync(new MutationRequest("UPDATE items SET name = 'during-outage' WHERE id = 1"));
            Assert.Equal("during-outage", (await shard.LookupRowsAsync(cached with { Consistency = Consistency.Strong })).Rows[0][1].AsText);
            var clock = Stopwatch.StartNew();
            for (var i = 0; i < 20; i++)
            {
                var during = await shard.LookupRowsAsync(cached);
                Assert.Equal("shard", during.Meta.ServedBy);
                Assert.Equal("during-outage", during.Rows[0][1].AsText);
            }

            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"20 cached reads took {clock.Elapsed} during the outage");

            // Redis comes back holding the entry from before the outage (a restarted server could; here it is
            // written back to prove the point): reads must not serve it, and the outboxed invalidation lands.
            await redis.StartAsync();
            using var direct = new RedisCacheStore(new RedisCacheOptions { Configuration = redis.Configuration }, TimeProvider.System);
            await WaitUntilAsync(async () =>
            {
                try
                {
                    await direct.SetManyAsync([new CacheWrite($"{shardKey.Split(':')[0]}:t:items:id:1", CachedRows.Encode(["id", "name", "color", "qty"], [[1, "n1", "blue", 10]]), 1, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), TimeSpan.FromMinutes(1))]);
                    return true;
                }
                catch (CacheUnavailableException)
                {
                    return false;
                }
            });

            var after = await shard.LookupRowsAsync(cached);
            Assert.Equal("during-outage", after.Rows[0][1].AsText);
            await host.WhenAppliedAsync(shardKey, CacheTestHost.SequenceOf(write.Bookmark));
            var entry = (await direct.GetManyAsync([$"{shardKey.Split(':')[0]}:t:items:id:1"]))[0];
            Assert.True(entry is null || entry.IsTombstone || entry.Sequence >= CacheTestHost.SequenceOf(write.Bookmark));
            await WaitUntilAsync(async () => (await shard.LookupRowsAsync(cached)).Meta.ServedBy == "cache");
            Assert.Equal("during-outage", (await shard.LookupRowsAsync(cached)).Rows[0][1].AsText);
        }
        finally
        {
            if (!redis.IsRunning)
            {
                await redis.StartAsync();
            }
        }
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition)
    {
        var deadline = Stopwatch.StartNew();
        while (!await condition())
        {
            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(20), "condition not reached in 20 s");
            await Task.Delay(20);
        }
    }
}
