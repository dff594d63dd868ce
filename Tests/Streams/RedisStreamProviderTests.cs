using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using OrleansShards.Runtime;
using OrleansShards.Runtime.Streams;
using OrleansShards.Runtime.Streams.Redis;
using OrleansShards.Tests.Infrastructure;
using StackExchange.Redis;

namespace OrleansShards.Tests.Streams;

[Collection(RedisCollection.Name)]
public sealed class RedisStreamProviderTests(RedisServerFixture redis) : IAsyncLifetime
{
    private readonly string _prefix = "streams:" + Guid.NewGuid().ToString("N");
    private ConnectionMultiplexer _connection = null!;

    public async Task InitializeAsync() => _connection = await ConnectionMultiplexer.ConnectAsync(redis.Configuration);

    public Task DisposeAsync()
    {
        _connection.Dispose();
        return Task.CompletedTask;
    }

    private Task<ShardTestHost> StartAsync(Action<RedisStreamOptions>? configure = null, Action<IServiceCollection>? services = null) => ShardTestHost.StartAsync(services: s =>
    {
        s.AddGrain<RecordingGrain>();
        s.AddGrain<ClaimProbeGrain>();
        services?.Invoke(s);
        s.AddRedisStreams("rs", o =>
        {
            o.Configuration = redis.Configuration;
            o.KeyPrefix = _prefix;
            o.Queues = 2;
            o.PollInterval = TimeSpan.FromMilliseconds(2);
            o.RetryBackoff = TimeSpan.FromMilliseconds(5);
            configure?.Invoke(o);
        });
    });

    private static RedisStreamProvider Provider(ShardTestHost host) => host.Services.GetRequiredKeyedService<RedisStreamProvider>("rs");

    [Fact]
    public async Task OnNextAsync_delivers_items_in_publish_order_when_stream_has_many_items()
    {
        await using var host = await StartAsync();
        var stream = Provider(host).GetStream<TestItem>("ordered", "k1");
        var received = new List<int>();
        var all = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await stream.SubscribeAsync(new Observer(item =>
        {
            lock (received)
            {
                received.Add(item.N);
                if (received.Count == 300)
                {
                    all.TrySetResult();
                }
            }

            return Task.CompletedTask;
        }));

        for (var i = 0; i < 300; i += 30)
        {
            await stream.OnNextBatchAsync(Enumerable.Range(i, 30).Select(n => new TestItem(n)));
        }

        await all.Task.WaitAsync(TimeSpan.FromSeconds(20));
        Assert.Equal(Enumerable.Range(0, 300), received);
    }

    [Fact]
    public async Task Delivery_is_acknowledged_only_after_handler_succeeds_when_it_fails_first()
    {
        await using var host = await StartAsync();
        var provider = Provider(host);
        var stream = provider.GetStream<TestItem>("retry", "k");
        var attempts = 0;
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await stream.SubscribeAsync(new Observer(_ =>
        {
            if (Interlocked.Increment(ref attempts) < 3)
            {
                throw new InvalidOperationException("not yet");
            }

            done.TrySetResult();
            return Task.CompletedTask;
        }));

        await stream.OnNextAsync(new TestItem(1));
        await done.Task.WaitAsync(TimeSpan.FromSeconds(20));
        var queue = provider.QueueOf(stream.StreamId);
        var db = _connection.GetDatabase();
        var deadline = DateTime.UtcNow.AddSeconds(10);
        long pending;
        do
        {
            var summary = (RedisResult[])(await db.ExecuteAsync("XPENDING", queue, "silo"))!;
            pending = (long)summary[0];
        }
        while (pending > 0 && DateTime.UtcNow < deadline && await Delay());
        Assert.Equal(0, pending);
        Assert.Equal(3, attempts);
    }

    [Fact]
    public async Task Consumer_claims_item_left_pending_when_its_consumer_died()
    {
        var streamId = new StreamId("recording", "claimed");
        var db = _connection.GetDatabase();
        string queue;
        await using (var probe = await StartAsync(o => o.ConsumerName = "probe"))
        {
            queue = Provider(probe).QueueOf(streamId);
        }

        // A consumer "dead" receives the item and never acknowledges it.
        try
        {
            await db.ExecuteAsync("XGROUP", "CREATE", queue, "silo", "0", "MKSTREAM");
        }
        catch (RedisServerException ex) when (ex.Message.StartsWith("BUSYGROUP", StringComparison.Ordinal))
        {
            // The probe's consumer loop created it already.
        }

        await db.ExecuteAsync("XADD", queue, "*", "ns", streamId.Namespace, "key", streamId.Key,
            "type", typeof(TestItem).FullName!, "data", JsonSerializer.SerializeToUtf8Bytes(new TestItem(42)));
        await db.ExecuteAsync("XREADGROUP", "GROUP", "silo", "dead", "COUNT", 10, "STREAMS", queue, ">");

        RecordingGrain.Received.TryRemove(streamId.Key, out _);
        await using var host = await StartAsync(o =>
        {
            o.ConsumerName = "alive";
            o.ClaimIdle = TimeSpan.FromMilliseconds(100);
            o.ClaimInterval = TimeSpan.FromMilliseconds(50);
        });
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (!RecordingGrain.Received.ContainsKey(streamId.Key) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }

        Assert.Equal([42], RecordingGrain.Received[streamId.Key]);
        Assert.True(Provider(host).Claimed >= 1);
    }

    [Fact]
    public async Task Idle_consumer_claims_items_another_provider_took_and_never_acknowledged()
    {
        var key = "claim-" + Guid.NewGuid().ToString("N")[..8];
        var streamId = new StreamId(ClaimProbeGrain.Namespace, key);
        var firstHolds = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var firstTook = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        ClaimProbeGrain.Handled.TryRemove(key, out _);

        // The items are in the queue before any consumer runs, so the first consumer takes all three in one read.
        var db = _connection.GetDatabase();
        string queue;
        await using (var probe = await StartAsync(o => o.ConsumerName = "probe"))
        {
            queue = Provider(probe).QueueOf(streamId);
        }

        try
        {
            await db.ExecuteAsync("XGROUP", "CREATE", queue, "silo", "0", "MKSTREAM");
        }
        catch (RedisServerException ex) when (ex.Message.StartsWith("BUSYGROUP", StringComparison.Ordinal))
        {
        }

        foreach (var n in new[] { 1, 2, 3 })
        {
            await db.ExecuteAsync("XADD", queue, "*", "ns", streamId.Namespace, "key", streamId.Key,
                "type", typeof(TestItem).FullName!, "data", JsonSerializer.SerializeToUtf8Bytes(new TestItem(n)));
        }

        // The first provider instance reads the items and its handler never returns: it took them
        // (they are pending under its name) and never acknowledges them, like a consumer that hung or died.
        // Its own claim sweep is pushed far out.
        var first = await StartAsync(
            o =>
            {
                o.ConsumerName = "first";
                o.ClaimIdle = TimeSpan.FromMinutes(10);
                o.ClaimInterval = TimeSpan.FromMinutes(10);
            },
            s => s.AddSingleton(new ClaimProbeGrain.Role("first", firstTook, firstHolds.Task)));
        try
        {
            await firstTook.Task.Within(TimeSpan.FromSeconds(20));

            var ownedByFirst = await PendingAsync(db, queue);
            Assert.Equal(3, ownedByFirst.Count);
            Assert.All(ownedByFirst, p => Assert.Equal("first", p.Consumer));

            // The second instance on the same Redis and consumer group: nothing new to read, so it
            // finds the items idle past ClaimIdle in the first consumer's pending list and claims them.
            await using var second = await StartAsync(
                o =>
                {
                    o.ConsumerName = "second";
                    o.ClaimIdle = TimeSpan.FromMilliseconds(200);
                    o.ClaimInterval = TimeSpan.FromMilliseconds(50);
                },
                s => s.AddSingleton(new ClaimProbeGrain.Role("second", null, null)));
            await Eventually.TrueAsync(
                () => ClaimProbeGrain.Handled.TryGetValue(key, out var seen) && seen.Count(h => h.Consumer == "second") == 3,
                "the second consumer handled the three claimed items",
                TimeSpan.FromSeconds(20));

            // Delivered in order by the second consumer, once each; the first saw only the item it hung on.
            var handled = ClaimProbeGrain.Handled[key];
            Assert.Equal([1, 2, 3], handled.Where(h => h.Consumer == "second").Select(h => h.N));
            Assert.Equal([1], handled.Where(h => h.Consumer == "first").Select(h => h.N));
            Assert.Equal(3, Provider(second).Claimed);

            // Acknowledged by the second consumer after handling: nothing is pending any more.
            var deadline = DateTime.UtcNow.AddSeconds(10);
            while ((await PendingAsync(db, queue)).Count > 0 && DateTime.UtcNow < deadline)
            {
                await Task.Delay(20);
            }

            Assert.Empty(await PendingAsync(db, queue));
            Assert.Equal(3, Provider(second).Delivered);
        }
        finally
        {
            firstHolds.TrySetException(new InvalidOperationException("the first consumer is gone"));
            await first.DisposeAsync();
        }
    }

    private static async Task<List<(string Id, string Consumer)>> PendingAsync(IDatabase db, string queue)
    {
        var rows = (RedisResult[])(await db.ExecuteAsync("XPENDING", queue, "silo", "-", "+", 100))!;
        return rows.Select(r => (RedisResult[])r!).Select(f => ((string)f[0]!, (string)f[1]!)).ToList();
    }

    [Fact]
    public async Task OnNextAsync_trims_queue_to_about_max_length()
    {
        await using var host = await StartAsync(o => o.MaxLength = 100);
        var stream = Provider(host).GetStream<TestItem>("trim", "k");
        for (var i = 0; i < 1000; i += 100)
        {
            await stream.OnNextBatchAsync(Enumerable.Range(i, 100).Select(n => new TestItem(n)));
        }

        var length = (long)await _connection.GetDatabase().ExecuteAsync("XLEN", Provider(host).QueueOf(stream.StreamId));
        Assert.InRange(length, 100, 300);
    }

    private static async Task<bool> Delay()
    {
        await Task.Delay(20);
        return true;
    }

    public sealed record TestItem(int N);

    private sealed class Observer(Func<TestItem, Task> onNext) : IAsyncObserver<TestItem>
    {
        public Task OnNextAsync(TestItem item, StreamSequenceToken token) => onNext(item);
    }

    [ImplicitStreamSubscription("recording")]
    public sealed class RecordingGrain : Grain, IAsyncObserver<TestItem>
    {
        public static ConcurrentDictionary<string, List<int>> Received { get; } = new();

        public Task OnNextAsync(TestItem item, StreamSequenceToken token)
        {
            Received.AddOrUpdate(GetPrimaryKeyString(), _ => [item.N], (_, list) => [.. list, item.N]);
            return Task.CompletedTask;
        }
    }

    /// <summary>Records which consumer (provider instance) handled each item; the first one hangs on its first item.</summary>
    [ImplicitStreamSubscription(Namespace)]
    public sealed class ClaimProbeGrain(ClaimProbeGrain.Role role) : Grain, IAsyncObserver<TestItem>
    {
        public const string Namespace = "claim-probe";

        public static ConcurrentDictionary<string, List<(string Consumer, int N)>> Handled { get; } = new();

        public async Task OnNextAsync(TestItem item, StreamSequenceToken token)
        {
            Handled.AddOrUpdate(GetPrimaryKeyString(), _ => [(role.Name, item.N)], (_, list) => [.. list, (role.Name, item.N)]);
            if (role.Hold is { } hold)
            {
                role.Took?.TrySetResult();
                await hold.ConfigureAwait(false);
            }
        }

        /// <summary>The consumer this silo plays; <paramref name="Hold"/> makes its handler wait (never acknowledge).</summary>
        public sealed record Role(string Name, TaskCompletionSource? Took, Task? Hold);
    }
}
