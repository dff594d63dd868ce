namespace OrleansShards.Grains.Caching;

/// <summary>One cached entry of a shard, or a tombstone left by an invalidation.</summary>
/// <param name="Value">The encoded rows; empty for a tombstone.</param>
/// <param name="Sequence">The commit sequence the entry reflects (a lower bound), or the invalidating commit for a tombstone.</param>
/// <param name="StoredAtUnixMs">When the state the entry holds was read from the shard.</param>
/// <param name="IsTombstone">True for a tombstone: the key was invalidated at <paramref name="Sequence"/>.</param>
public sealed record CacheEntry(byte[] Value, long Sequence, long StoredAtUnixMs, bool IsTombstone);
