using Microsoft.Extensions.Caching.Distributed;

namespace OrleansShards.Grains.Caching;

/// <summary>
/// The shards' cache store offered to applications as <see cref="IDistributedCache"/>: values are
/// stored raw (no sequence), with absolute and sliding expiration. Synchronous members block on the
/// asynchronous ones. A store outage surfaces as <see cref="CacheUnavailableException"/>, as callers of
/// <see cref="IDistributedCache"/> expect failures to be visible.
/// </summary>
internal sealed class DistributedCacheAdapter(ICacheStore store, TimeProvider time) : IDistributedCache
{
    public byte[]? Get(string key) => GetAsync(key).GetAwaiter().GetResult();

    public Task<byte[]?> GetAsync(string key, CancellationToken token = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        return store.GetRawAsync(key, slide: true, token);
    }

    public void Set(string key, byte[] value, DistributedCacheEntryOptions options) => SetAsync(key, value, options).GetAwaiter().GetResult();

    public Task SetAsync(string key, byte[] value, DistributedCacheEntryOptions options, CancellationToken token = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(value);
        ArgumentNullException.ThrowIfNull(options);
        TimeSpan? lifetime = options.AbsoluteExpiration is { } at
            ? at - time.GetUtcNow()
            : options.AbsoluteExpirationRelativeToNow;
        if (lifetime is { } l && l <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(options), "The absolute expiration is in the past.");
        }

        return store.SetRawAsync(key, value, lifetime, options.SlidingExpiration, token);
    }

    public void Refresh(string key) => RefreshAsync(key).GetAwaiter().GetResult();

    public Task RefreshAsync(string key, CancellationToken token = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        return store.GetRawAsync(key, slide: true, token);
    }

    public void Remove(string key) => RemoveAsync(key).GetAwaiter().GetResult();

    public Task RemoveAsync(string key, CancellationToken token = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        return store.RemoveAsync(key, token);
    }
}
