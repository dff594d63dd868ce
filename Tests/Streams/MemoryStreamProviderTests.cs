using Microsoft.Extensions.DependencyInjection;
using OrleansShards.Runtime.Streams;
using OrleansShards.Tests.Infrastructure;

namespace OrleansShards.Tests.Streams;

public sealed class MemoryStreamProviderTests
{
    private static IStreamProvider Provider(ShardTestHost host) => host.Services.GetRequiredKeyedService<IStreamProvider>("default");

    // Regression (issue 5, in-memory invalidation p95 7–19 ms): the pump was started with Task.Run, so
    // every item waited in the thread pool's global queue behind the load before its handler ran.
    [Fact]
    public async Task OnNextAsync_delivers_before_returning_when_handler_completes_synchronously()
    {
        await using var host = await ShardTestHost.StartAsync();
        var stream = Provider(host).GetStream<int>("inline", "k");
        var received = new List<int>();
        await stream.SubscribeAsync(new Observer(n =>
        {
            received.Add(n);
            return Task.CompletedTask;
        }));

        var published = stream.OnNextAsync(1);

        Assert.True(published.IsCompletedSuccessfully);
        Assert.Equal([1], received);
    }

    [Fact]
    public async Task OnNextAsync_returns_and_keeps_order_when_handler_waits()
    {
        await using var host = await ShardTestHost.StartAsync();
        var stream = Provider(host).GetStream<int>("waiting", "k");
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var received = new List<int>();
        var all = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await stream.SubscribeAsync(new Observer(async n =>
        {
            lock (received)
            {
                received.Add(n);
            }

            if (n == 1)
            {
                await gate.Task;
            }

            if (n == 3)
            {
                all.TrySetResult();
            }
        }));

        // The publisher is not held by a handler that waits: OnNextAsync returns at once.
        Assert.True(stream.OnNextAsync(1).IsCompletedSuccessfully);
        Assert.True(stream.OnNextAsync(2).IsCompletedSuccessfully);
        Assert.True(stream.OnNextAsync(3).IsCompletedSuccessfully);
        lock (received)
        {
            Assert.Equal([1], received);
        }

        gate.SetResult();
        await all.Task.Within();
        Assert.Equal([1, 2, 3], received);
    }

    private sealed class Observer(Func<int, Task> onNext) : IAsyncObserver<int>
    {
        public Task OnNextAsync(int item, StreamSequenceToken token) => onNext(item);
    }
}
