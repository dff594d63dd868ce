namespace OrleansShards.Runtime.Streams;

/// <summary>A named stream provider (in-memory, Redis Streams). Obtain with <c>GetStreamProvider(name)</c>.</summary>
public interface IStreamProvider
{
    /// <summary>The provider's registered name.</summary>
    string Name { get; }

    /// <summary>The stream (namespace, key) carrying items of <typeparamref name="T"/>.</summary>
    IAsyncStream<T> GetStream<T>(string streamNamespace, string key);
}
