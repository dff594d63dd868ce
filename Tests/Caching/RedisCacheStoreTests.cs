using OrleansShards.Grains.Caching;
using OrleansShards.Tests.Infrastructure;

namespace OrleansShards.Tests.Caching;

[Collection(RedisCollection.Name)]
public sealed class RedisCacheStoreTests(RedisServerFixture redis)
{
    // Generous connect and operation timeouts: these tests are about the store's semantics, and the first connect in a
    // cold test process on a loaded 2-core machine has taken more than the default 1 s, its first scripts (compiled by
    // the client and the server, the code JIT-compiled) more than the default 250 ms.
    private RedisCacheStore Store(string keyPrefix = "") => new(
        new RedisCacheOptions
        {
            Configuration = redis.Configuration,
            BreakDuration = TimeSpan.FromMilliseconds(200),
            ConnectTimeout = TimeSpan.FromSeconds(10),
            OperationTimeout = TimeSpan.FromSeconds(10),
            KeyPrefix = keyPrefix,
        },
        TimeProvider.System);

    private static string Key(string name) => "test:" + Guid.NewGuid().ToString("N") + ":" + name;

    [Fact]
    public async Task A_command_written_into_a_closed_connection_counts_as_redis_unavailable_but_other_invalid_operations_do_not()
    {
        // What StackExchange.Redis throws when the server restarts under a command: its pipe's writer was completed.
        var pipe = new System.IO.Pipelines.Pipe();
        await pipe.Writer.CompleteAsync();
        var closed = Assert.Throws<InvalidOperationException>(() => { pipe.Writer.GetSpan(1); });
        Assert.True(RedisCacheStore.IsTransportFailure(closed));
        Assert.True(RedisCacheStore.IsTransportFailure(new StackExchange.Redis.RedisConnectionException(StackExchange.Redis.ConnectionFailureType.SocketClosed, "closed")));

        var bug = Assert.Throws<InvalidOperationException>(new Action(() => throw new InvalidOperationException("a bug of this code")));
        Assert.False(RedisCacheStore.IsTransportFailure(bug));
        Assert.False(RedisCacheStore.IsTransportFailure(new ArgumentException("bad key")));
    }

    [Fact]
    public async Task SetManyAsync_refuses_older_sequence_when_tombstone_is_newer()
    {
        using var store = Store();
        var key = Key("k");
        await store.InvalidateManyAsync([key], 10, TimeSpan.FromMinutes(1));
        Assert.Equal(0, await store.SetManyAsync([new CacheWrite(key, [1, 2], 9, 5, TimeSpan.FromMinutes(1))]));
        var entry = (await store.GetManyAsync([key]))[0]!;
        Assert.True(entry.IsTombstone);
        Assert.Equal(10, entry.Sequence);
        Assert.Equal(1, await store.SetManyAsync([new CacheWrite(key, [1, 2], 11, 5, TimeSpan.FromMinutes(1))]));
        entry = (await store.GetManyAsync([key]))[0]!;
        Assert.False(entry.IsTombstone);
        Assert.Equal([1, 2], entry.Value);
        Assert.Equal(5, entry.StoredAtUnixMs);
    }

    [Fact]
    public async Task InvalidateManyAsync_keeps_newer_entries_and_tombstones_older_ones_in_one_batch()
    {
        using var store = Store();
        var (a, b, c) = (Key("a"), Key("b"), Key("c"));
        await store.SetManyAsync([new CacheWrite(a, [1], 8, 0, TimeSpan.FromMinutes(1)), new CacheWrite(b, [1], 2, 0, TimeSpan.FromMinutes(1))]);
        await store.InvalidateManyAsync([a, b, c], 5, TimeSpan.FromMinutes(1));
        var entries = await store.GetManyAsync([a, b, c]);
        Assert.False(entries[0]!.IsTombstone);
        Assert.True(entries[1]!.IsTombstone);
        Assert.True(entries[2]!.IsTombstone);
    }

    [Fact]
    public async Task RemoveByPrefixAsync_deletes_every_key_of_prefix()
    {
        using var store = Store();
        var prefix = Key("p") + ":";
        await store.SetManyAsync(Enumerable.Range(0, 1200).Select(i => new CacheWrite(prefix + i, [1], 1, 0, TimeSpan.FromMinutes(1))).ToList());
        Assert.Equal(1200, await store.RemoveByPrefixAsync(prefix, 2));
        Assert.Null((await store.GetManyAsync([prefix + "7"]))[0]);
    }

    [Fact]
    public async Task Stores_with_different_key_prefixes_on_one_redis_never_see_or_flush_each_others_entries()
    {
        var service = Guid.NewGuid().ToString("N")[..8];
        using var first = Store(service + "-a/");
        using var second = Store(service + "-b/");
        await first.SetManyAsync([new CacheWrite("acme:t:pr:id:1", [1], 5, 0, TimeSpan.FromMinutes(1))]);
        await second.SetManyAsync([new CacheWrite("acme:t:pr:id:1", [2], 3, 0, TimeSpan.FromMinutes(1))]);

        // Same key, two services: each reads its own (the older sequence of the second is no tombstone of the first's).
        Assert.Equal(new byte[] { 1 }, (await first.GetManyAsync(["acme:t:pr:id:1"]))[0]!.Value);
        Assert.Equal(new byte[] { 2 }, (await second.GetManyAsync(["acme:t:pr:id:1"]))[0]!.Value);
        Assert.True(await redis.Connection.GetDatabase().KeyExistsAsync(service + "-a/acme:t:pr:id:1"));

        // An invalidation and a flush of one touch nothing of the other.
        await second.InvalidateManyAsync(["acme:t:pr:id:1"], 9, TimeSpan.FromMinutes(1));
        Assert.Equal(1, await second.RemoveByPrefixAsync("acme:t:pr:", 10));
        Assert.Equal(new byte[] { 1 }, (await first.GetManyAsync(["acme:t:pr:id:1"]))[0]!.Value);
    }

    [Fact]
    public async Task RemoveByPrefixAsync_keeps_entries_and_tombstones_at_or_above_the_flush_sequence()
    {
        // A flush arriving late: entries stored after its commit (7, 5) and a newer tombstone (6) already reflect it.
        using var store = Store();
        var prefix = Key("f") + ":";
        await store.SetManyAsync([
            new CacheWrite(prefix + "1", [1], 7, 0, TimeSpan.FromMinutes(1)),
            new CacheWrite(prefix + "2", [1], 5, 0, TimeSpan.FromMinutes(1)),
            new CacheWrite(prefix + "3", [1], 4, 0, TimeSpan.FromMinutes(1))]);
        await store.InvalidateManyAsync([prefix + "4"], 6, TimeSpan.FromMinutes(1));
        await store.InvalidateManyAsync([prefix + "5"], 2, TimeSpan.FromMinutes(1));
        Assert.Equal(2, await store.RemoveByPrefixAsync(prefix, 5));
        var entries = await store.GetManyAsync([prefix + "1", prefix + "2", prefix + "3", prefix + "4", prefix + "5"]);
        Assert.Equal([7, 5], entries[..2].Select(e => e!.Sequence));
        Assert.Null(entries[2]);
        Assert.True(entries[3]!.IsTombstone);
        Assert.Null(entries[4]);
    }
}
