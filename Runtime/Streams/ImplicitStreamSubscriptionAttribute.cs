namespace OrleansShards.Runtime.Streams;

/// <summary>
/// Subscribes a grain class to every stream of a namespace: an item published to stream
/// (namespace, key) activates the grain whose key is that stream's key and calls its
/// <see cref="IAsyncObserver{T}.OnNextAsync"/> as a writing turn.
/// </summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
public sealed class ImplicitStreamSubscriptionAttribute(string streamNamespace) : Attribute
{
    /// <summary>The stream namespace.</summary>
    public string Namespace { get; } = streamNamespace;
}
