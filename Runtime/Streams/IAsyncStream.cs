namespace OrleansShards.Runtime.Streams;

/// <summary>One stream. Items are delivered to subscribers in publish order.</summary>
public interface IAsyncStream<T>
{
    /// <summary>This stream's identity.</summary>
    StreamId StreamId { get; }

    /// <summary>Publishes one item. Completes when the provider has accepted it (queued or stored), not when it is handled.</summary>
    Task OnNextAsync(T item);

    /// <summary>Publishes items in order.</summary>
    Task OnNextBatchAsync(IEnumerable<T> items);

    /// <summary>Adds an explicit subscriber for items published from now on.</summary>
    Task<StreamSubscriptionHandle> SubscribeAsync(IAsyncObserver<T> observer);
}
