namespace OrleansShards.Runtime.Streams;

/// <summary>Receives the items of a stream. A grain implementing it with <see cref="ImplicitStreamSubscriptionAttribute"/> is activated by the stream.</summary>
public interface IAsyncObserver<in T>
{
    /// <summary>Handles one item. Items of one stream arrive in order, one at a time; a throw means the item is delivered again.</summary>
    Task OnNextAsync(T item, StreamSequenceToken token);
}
