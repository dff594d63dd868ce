namespace OrleansShards.Grains.Caching;

/// <summary>
/// The cache store behind the shards' read path: in memory (embedded default) or Redis. Shard
/// entries carry the commit sequence they reflect; <see cref="SetManyAsync"/> never overwrites an
/// entry or tombstone with a higher sequence, and <see cref="InvalidateManyAsync"/> never removes an
/// entry with a sequence at or above the invalidation's. Application values go through <c>IDistributedCache</c> (Redis or memory), not through this store.
/// </summary>
/// <remarks>Failures (store unreachable, timeout, circuit open) throw <see cref="CacheUnavailableException"/>.</remarks>
public interface ICacheStore
{
    /// <summary><c>memory</c> or <c>redis</c>.</summary>
    string Kind { get; }

    /// <summary>The entries of <paramref name="keys"/> in order; null where absent or expired. Tombstones are returned as such.</summary>
    Task<CacheEntry?[]> GetManyAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken = default);

    /// <summary>Writes each entry unless the key holds an entry or tombstone with a higher sequence (compare-and-set). Returns how many were written.</summary>
    Task<int> SetManyAsync(IReadOnlyList<CacheWrite> writes, CancellationToken cancellationToken = default);

    /// <summary>Replaces each key by a tombstone of <paramref name="sequence"/> unless it holds an entry or tombstone of that sequence or higher.</summary>
    Task InvalidateManyAsync(IReadOnlyList<string> keys, long sequence, TimeSpan tombstoneLifetime, CancellationToken cancellationToken = default);

    /// <summary>Removes every key starting with <paramref name="prefix"/>; returns how many.</summary>
    Task<long> RemoveByPrefixAsync(string prefix, CancellationToken cancellationToken = default);
}
