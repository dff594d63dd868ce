using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Hosting;
using Orleans.Runtime;
using Orleans.Streams;
using OrleansShards.Grains.Streams.Redis;
using OrleansShards.Tests.Infrastructure.Grains;
using OrleansShards.Tests.Infrastructure;
using StackExchange.Redis;
using Xunit.Abstractions;

namespace OrleansShards.Tests.Streams;

/// <summary>The Redis Streams provider in a real in-process silo with a real redis-server.</summary>
[Collection(RedisCollection.Name)]
public sealed class RedisStreamSiloTests(RedisServerFixture redis, ITestOutputHelper output)
{
    private const string Provider = "redis";
    private readonly string _prefix = "silo:" + Guid.NewGuid().ToString("N");

    private Task<TestSilo> StartSiloAsync(Action<RedisStreamOptions>? configure = null, Action<IServiceCollection>? services = null) =>
        TestSilo.StartAsync(
            silo => silo.AddRedisStreams(
                Provider,
                o =>
                {
                    o.Configuration = redis.Configuration;
                    o.KeyPrefix = _prefix;
                    o.Queues = 4;
                    o.ConsumerName = "test-silo";

                    // The suite runs these beside heavy tests on 2 cores: a publish may wait longer than the 2 s default.
                    o.OperationTimeout = TimeSpan.FromSeconds(15);
                    configure?.Invoke(o);
                },
                s => s.ConfigureStreamPubSub(StreamPubSubType.ImplicitOnly)),
            services);

    private static IAsyncStream<ProbeEvent> Stream(TestSilo silo, string key) =>
        silo.Services.GetRequiredService<IClusterClient>().GetStreamProvider(Provider)
            .GetStream<ProbeEvent>(StreamId.Create(ProbeStreamGrain.Namespace, key));

    private static string NewKey() => "k-" + Guid.NewGuid().ToString("N");

    [Fact]
    public async Task Implicit_subscriber_receives_every_event_of_its_stream_in_publish_order_and_deliveries_are_acknowledged()
    {
        await using var silo = await StartSiloAsync();
        var keys = Enumerable.Range(0, 3).Select(_ => NewKey()).ToArray();
        const int PerStream = 400;

        // Interleaved across three streams; batches and single items mixed.
        for (var i = 0; i < PerStream; i += 4)
        {
            foreach (var key in keys)
            {
                var stream = Stream(silo, key);
                await stream.OnNextAsync(new ProbeEvent(i, Stopwatch.GetTimestamp()));
                await stream.OnNextBatchAsync([.. Enumerable.Range(i + 1, 3).Select(n => new ProbeEvent(n, Stopwatch.GetTimestamp()))]);
            }
        }

        foreach (var key in keys)
        {
            Assert.True(await StreamEventually.TrueAsync(() => StreamLog.For(key).DeliveredCount >= PerStream, TimeSpan.FromSeconds(30)), $"stream {key}: {StreamLog.For(key).DeliveredCount} of {PerStream} delivered");
        }

        await Task.Delay(200);
        foreach (var key in keys)
        {
            Assert.Equal(Enumerable.Range(0, PerStream), StreamLog.For(key).Delivered);
        }

        // Delivered items are XACKed (MessagesDeliveredAsync, once Orleans purges them from its cache).
        var db = redis.Connection.GetDatabase();
        var published = 0L;
        for (var q = 0; q < 4; q++)
        {
            published += await db.StreamLengthAsync($"{_prefix}:{Provider}:{q}");
        }

        Assert.Equal(keys.Length * PerStream / 2, published);
        var pending = -1L;
        var allAcked = await StreamEventually.TrueAsync(
            async () =>
            {
                pending = 0;
                for (var q = 0; q < 4; q++)
                {
                    pending += (await db.StreamPendingAsync($"{_prefix}:{Provider}:{q}", "silo")).PendingMessageCount;
                }

                return pending == 0;
            },
            TimeSpan.FromSeconds(15));
        Assert.True(allAcked, $"{pending} of {published} entries still pending");
    }

    [Fact]
    public async Task An_event_whose_handler_throws_is_redelivered_and_the_stream_goes_on_in_order()
    {
        await using var silo = await StartSiloAsync();
        var key = NewKey();
        var stream = Stream(silo, key);

        for (var i = 0; i < 10; i++)
        {
            await stream.OnNextAsync(new ProbeEvent(i, Stopwatch.GetTimestamp(), FailTimes: i == 4 ? 2 : 0));
        }

        Assert.True(await StreamEventually.TrueAsync(() => StreamLog.For(key).DeliveredCount >= 10, TimeSpan.FromSeconds(30)));
        var log = StreamLog.For(key);
        Assert.Equal(Enumerable.Range(0, 10), log.Delivered);
        Assert.Equal(3, log.Attempts.Count(s => s == 4));
        Assert.Equal([0, 1, 2, 3, 4, 4, 4, 5, 6, 7, 8, 9], log.Attempts);
    }

    [Fact]
    public async Task Events_published_while_no_silo_runs_are_delivered_when_the_silo_starts()
    {
        var key = NewKey();
        var options = new RedisStreamOptions { Configuration = redis.Configuration, KeyPrefix = _prefix, Queues = 4 };
        await using (var publisher = new StandaloneRedisStreams(Provider, options))
        {
            var adapter = await publisher.Factory.CreateAdapter(CancellationToken.None);
            for (var i = 0; i < 50; i++)
            {
                await adapter.QueueMessageBatchAsync(StreamId.Create(ProbeStreamGrain.Namespace, key), [new ProbeEvent(i, Stopwatch.GetTimestamp())], null, null);
            }
        }

        Assert.Equal(0, StreamLog.For(key).DeliveredCount);
        await using var silo = await StartSiloAsync();

        Assert.True(await StreamEventually.TrueAsync(() => StreamLog.For(key).DeliveredCount >= 50, TimeSpan.FromSeconds(30)));
        Assert.Equal(Enumerable.Range(0, 50), StreamLog.For(key).Delivered);
    }

    [Fact]
    public async Task A_registered_IConnectionMultiplexer_is_used_instead_of_Configuration()
    {
        await using var shared = await ConnectionMultiplexer.ConnectAsync(redis.Configuration);
        await using var silo = await StartSiloAsync(
            o => o.Configuration = "127.0.0.1:1,connectTimeout=200",
            services => services.AddSingleton<IConnectionMultiplexer>(shared));
        var key = NewKey();

        await Stream(silo, key).OnNextAsync(new ProbeEvent(0, Stopwatch.GetTimestamp()));

        Assert.True(await StreamEventually.TrueAsync(() => StreamLog.For(key).DeliveredCount >= 1, TimeSpan.FromSeconds(20)));
        Assert.True(shared.IsConnected);
    }

    [Fact]
    public async Task Invalid_options_fail_silo_start_naming_the_option()
    {
        var failure = await Assert.ThrowsAnyAsync<Exception>(() => StartSiloAsync(o => o.Queues = 0));

        var messages = string.Join(" | ", Chain(failure).Select(e => e.Message));
        Assert.Contains("RedisStreamOptions.Queues", messages, StringComparison.Ordinal);
        Assert.Contains("'redis'", messages, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Publish_to_delivery_latency_is_low()
    {
        await using var silo = await StartSiloAsync();
        var keys = Enumerable.Range(0, 10).Select(_ => NewKey()).ToArray();

        // Warm-up: activate each grain and register each stream.
        foreach (var key in keys)
        {
            await Stream(silo, key).OnNextAsync(new ProbeEvent(-1, Stopwatch.GetTimestamp()));
        }

        Assert.True(await StreamEventually.TrueAsync(() => keys.All(k => StreamLog.For(k).DeliveredCount == 1), TimeSpan.FromSeconds(30)));

        const int Events = 500;
        for (var i = 0; i < Events; i++)
        {
            await Stream(silo, keys[i % keys.Length]).OnNextAsync(new ProbeEvent(i, Stopwatch.GetTimestamp()));
            await Task.Delay(3);
        }

        Assert.True(await StreamEventually.TrueAsync(() => keys.Sum(k => StreamLog.For(k).DeliveredCount) >= Events + keys.Length, TimeSpan.FromSeconds(30)));
        var latencies = keys.SelectMany(k => StreamLog.For(k).LatenciesMs.Skip(1)).Order().ToList();
        Assert.Equal(Events, latencies.Count);
        var p50 = latencies[(int)(latencies.Count * 0.50)];
        var p95 = latencies[(int)(latencies.Count * 0.95)];
        var max = latencies[^1];
        var line = $"Redis stream publish->delivery latency over {Events} events: p50 {p50:F1} ms, p95 {p95:F1} ms, max {max:F1} ms";
        output.WriteLine(line);
        Console.WriteLine(line);
        Assert.True(p95 < 200, line);
    }

    private static IEnumerable<Exception> Chain(Exception exception)
    {
        for (Exception? e = exception; e is not null; e = e.InnerException)
        {
            yield return e;
            if (e is AggregateException aggregate)
            {
                foreach (var inner in aggregate.InnerExceptions.SelectMany(Chain))
                {
                    yield return inner;
                }
            }
        }
    }
}
