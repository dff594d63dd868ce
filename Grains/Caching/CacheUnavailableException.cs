namespace OrleansShards.Grains.Caching;

/// <summary>The cache store could not be reached in time, or its circuit is open.</summary>
public sealed class CacheUnavailableException : Exception
{
    public CacheUnavailableException()
    {
    }

    public CacheUnavailableException(string message)
        : base(message)
    {
    }

    public CacheUnavailableException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
