namespace OrleansShards;

/// <summary>
/// Creates references to grains. A reference is cheap, holds no state and may be kept;
/// every call on it runs on the grain's single activation (in-process), or is sent over
/// HTTP by the client implementation. The same code therefore runs co-hosted or remote.
/// </summary>
public interface IGrainFactory
{
    /// <summary>Returns a typed reference to the grain of <typeparamref name="TGrainInterface"/> with <paramref name="key"/>.</summary>
    /// <exception cref="ArgumentException">The key is empty, or no implementation of the interface is registered.</exception>
    TGrainInterface GetGrain<TGrainInterface>(string key) where TGrainInterface : IGrainWithStringKey;
}
