using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using OrleansShards.Runtime.Streams;
using OrleansShards.Tests.Infrastructure;
using OrleansShards.Tests.Runtime.Grains;

namespace OrleansShards.Tests.Runtime;

/// <summary>
/// The in-memory stream provider. Runs on the real clock with a 1 ms retry backoff (the only timer
/// involved), so redelivery needs no clock driving.
/// </summary>
public sealed class MemoryStreamProviderTests
{
    private static Task<TestSilo> StartAsync() =>
        TestSilo.StartAsync(realTime: true, streams: s => s.RetryBackoff = TimeSpan.FromMilliseconds(1));

    private static IStreamProvider Provider(TestSilo silo) => silo.Host.Services.GetRequiredKeyedService<IStreamProvider>("mem");

    [Fact]
    public async Task OnNextAsync_activates_implicit_subscriber_keyed_by_stream_and_keeps_order_when_many_items_are_published()
    {
        await using var silo = await StartAsync();
        var stream = Provider(silo).GetStream<int>("numbers", "s1");

        for (var i = 0; i < 1000; i++)
        {
            await stream.OnNextAsync(i);
        }

        await Eventually.TrueAsync(() => silo.Probe.Get("received:s1") == 1000, "1000 items delivered");
        Assert.Equal(Enumerable.Range(0, 1000), await silo.Grains.GetGrain<IStreamConsumerGrain>("s1").Received());
        Assert.Equal(1, silo.Probe.Count("activate:s1"));
        Assert.Equal(0, silo.Probe.Get("sequence-not-increasing"));
    }

    [Fact]
    public async Task OnNextBatchAsync_keeps_streams_apart_when_two_keys_share_a_namespace()
    {
        await using var silo = await StartAsync();
        await Provider(silo).GetStream<int>("numbers", "x").OnNextBatchAsync([1, 2, 3]);
        await Provider(silo).GetStream<int>("numbers", "y").OnNextBatchAsync([7, 8]);

        await Eventually.TrueAsync(() => silo.Probe.Get("received:x") == 3 && silo.Probe.Get("received:y") == 2, "both streams delivered");

        Assert.Equal(new[] { 1, 2, 3 }, await silo.Grains.GetGrain<IStreamConsumerGrain>("x").Received());
        Assert.Equal(new[] { 7, 8 }, await silo.Grains.GetGrain<IStreamConsumerGrain>("y").Received());
    }

    [Fact]
    public async Task SubscribeAsync_delivers_until_unsubscribed_when_observer_subscribes_explicitly()
    {
        await using var silo = await StartAsync();
        var stream = Provider(silo).GetStream<string>("other", "k");
        var first = new Recorder();
        var second = new Recorder();
        var firstHandle = await stream.SubscribeAsync(first);
        await stream.SubscribeAsync(second);

        await stream.OnNextAsync("a");
        await Eventually.TrueAsync(() => first.Items.Count == 1 && second.Items.Count == 1, "both observers got 'a'");
        await firstHandle.UnsubscribeAsync();
        await stream.OnNextAsync("b");
        await stream.OnNextAsync("c");
        await Eventually.TrueAsync(() => second.Items.Count == 3, "the remaining observer got 'b' and 'c'");

        Assert.Equal(["a"], first.Items);
        Assert.Equal(["a", "b", "c"], second.Items);
        Assert.Equal(firstHandle.StreamId, stream.StreamId);
    }

    [Fact]
    public async Task PumpAsync_redelivers_item_in_order_when_handler_throws()
    {
        await using var silo = await StartAsync();
        var stream = Provider(silo).GetStream<int>("numbers", "retry");

        await stream.OnNextBatchAsync([1, -1, 2]);

        await Eventually.TrueAsync(() => silo.Probe.Get("received:retry") == 3, "all three items handled");
        Assert.Equal(2, silo.Probe.Get("fail-once"));
        Assert.Equal(new[] { 1, -1, 2 }, await silo.Grains.GetGrain<IStreamConsumerGrain>("retry").Received());
    }

    private sealed class Recorder : IAsyncObserver<string>
    {
        public ConcurrentQueue<string> Items { get; } = new();

        public Task OnNextAsync(string item, StreamSequenceToken token)
        {
            Items.Enqueue(item);
            return Task.CompletedTask;
        }
    }
}
