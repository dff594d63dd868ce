namespace OrleansShards.Grains.Caching;

/// <summary>One compare-and-set write of a shard entry.</summary>
/// <param name="Key">The cache key.</param>
/// <param name="Value">The encoded rows.</param>
/// <param name="Sequence">The commit sequence the value reflects (a lower bound).</param>
/// <param name="StoredAtUnixMs">When the value was read from the shard.</param>
/// <param name="Lifetime">How long the store keeps it (TTL plus stale window).</param>
public sealed record CacheWrite(string Key, byte[] Value, long Sequence, long StoredAtUnixMs, TimeSpan Lifetime);
