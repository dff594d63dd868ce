namespace OrleansShards;

/// <summary>Cache figures of one table.</summary>
/// <param name="Hits">Reads answered by a fresh entry.</param>
/// <param name="Misses">Reads that went to the shard.</param>
/// <param name="Stale">Reads answered by an entry in its stale-while-revalidate window.</param>
/// <param name="Refreshes">Background refreshes run.</param>
/// <param name="Invalidations">Keys deleted by invalidation events.</param>
public sealed record CacheStats(long Hits, long Misses, long Stale, long Refreshes, long Invalidations)
{
    /// <summary>Hit rate in [0, 1], counting stale answers as hits.</summary>
    public double HitRate => Hits + Stale + Misses == 0 ? 0 : (double)(Hits + Stale) / (Hits + Stale + Misses);
}
