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

    private Task<ShardTestHost> StartAsync(Action<RedisStreamOptions>? configure = null) => ShardTestHost.StartAsync(services: s =>
    {
        s.AddGrain<RecordingGrain>();
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
}
