using System.Collections.Concurrent;
using OrleansShards.Runtime;
using OrleansShards.Runtime.Streams;

namespace OrleansShards.Tests.Runtime.Grains;

public interface IStreamConsumerGrain : IGrainWithStringKey
{
    [ReadOnly]
    Task<int[]> Received();
}

/// <summary>Implicitly subscribed to namespace "numbers"; the item -1 fails its first delivery.</summary>
[ImplicitStreamSubscription("numbers")]
public sealed class StreamConsumerGrain(Probe probe) : Grain, IStreamConsumerGrain, IAsyncObserver<int>
{
    private readonly ConcurrentQueue<int> _received = new();
    private long _lastSequence;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        probe.Log("activate:" + GetPrimaryKeyString());
        return Task.CompletedTask;
    }

    public Task OnNextAsync(int item, StreamSequenceToken token)
    {
        if (token.SequenceNumber <= _lastSequence)
        {
            probe.Increment("sequence-not-increasing");
        }

        if (item == -1 && probe.Increment("fail-once") == 1)
        {
            throw new InvalidOperationException("handler failed once");
        }

        _lastSequence = token.SequenceNumber;
        _received.Enqueue(item);
        probe.Increment("received:" + GetPrimaryKeyString());
        return Task.CompletedTask;
    }

    public Task<int[]> Received() => Task.FromResult(_received.ToArray());
}
