using Orleans;

namespace OrleansShards;

/// <summary>Cache figures of one table.</summary>
/// <param name="Hits">Reads answered by a fresh entry.</param>
/// <param name="Misses">Reads that went to the shard.</param>
/// <param name="Stale">Reads answered by an entry in its stale-while-revalidate window.</param>
/// <param name="Refreshes">Background refreshes run.</param>
/// <param name="Invalidations">Keys deleted by invalidation events.</param>
/// <param name="InvalidationP50Ms">Median commit→delete latency of this table's invalidations, in milliseconds.</param>
/// <param name="InvalidationP95Ms">95th percentile commit→delete latency, in milliseconds.</param>
/// <param name="InvalidationP99Ms">99th percentile commit→delete latency, in milliseconds.</param>
/// <param name="DefaultConsistency">The consistency a read of this table gets when it names none.</param>
[GenerateSerializer, Immutable, Alias("orleansshards.CacheStats")]
public sealed record CacheStats(
    [Id(0)] long Hits,
    [Id(1)] long Misses,
    [Id(2)] long Stale,
    [Id(3)] long Refreshes,
    [Id(4)] long Invalidations,
    [Id(5)] double InvalidationP50Ms = 0,
    [Id(6)] double InvalidationP95Ms = 0,
    [Id(7)] double InvalidationP99Ms = 0,
    [Id(8)] Consistency DefaultConsistency = Consistency.Strong)
{
    /// <summary>Hit rate in [0, 1], counting stale answers as hits.</summary>
    public double HitRate => Hits + Stale + Misses == 0 ? 0 : (double)(Hits + Stale) / (Hits + Stale + Misses);
}
