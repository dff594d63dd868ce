namespace OrleansShards.Grains.Caching;

/// <summary>
/// The cache store behind the shards' read path: in memory (embedded default) or Redis. Shard
/// entries carry the commit sequence they reflect; <see cref="SetManyAsync"/> never overwrites an
/// entry or tombstone with a higher sequence, and neither <see cref="InvalidateManyAsync"/> nor
/// <see cref="RemoveByPrefixAsync"/> removes an entry with a sequence at or above the invalidation's. Application values go through <c>IDistributedCache</c> (Redis or memory), not through this store.
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

    /// <summary>
    /// The flush of commit <paramref name="sequence"/>: removes every key starting with <paramref name="prefix"/> whose
    /// entry or tombstone has a lower sequence; returns how many. Like <see cref="InvalidateManyAsync"/>, it never
    /// removes an entry that already reflects the commit (one stored after it while the flush was on its way).
    /// </summary>
    Task<long> RemoveByPrefixAsync(string prefix, long sequence, CancellationToken cancellationToken = default);
}
