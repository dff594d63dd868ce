namespace OrleansShards.Runtime.Streams;

/// <summary>An explicit subscription; dispose or <see cref="UnsubscribeAsync"/> to stop receiving items.</summary>
public sealed class StreamSubscriptionHandle : IAsyncDisposable
{
    private readonly Action _unsubscribe;
    private int _done;

    internal StreamSubscriptionHandle(StreamId streamId, Action unsubscribe)
    {
        StreamId = streamId;
        _unsubscribe = unsubscribe;
    }

    /// <summary>The subscribed stream.</summary>
    public StreamId StreamId { get; }

    /// <summary>Stops delivery to this subscriber.</summary>
    public Task UnsubscribeAsync()
    {
        if (Interlocked.Exchange(ref _done, 1) == 0)
        {
            _unsubscribe();
        }

        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync() => new(UnsubscribeAsync());
}
