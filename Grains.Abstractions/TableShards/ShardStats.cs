using Orleans;

namespace OrleansShards;

/// <summary>Figures of one shard.</summary>
/// <param name="Shard">The shard's key, <c>tenant:table</c>.</param>
/// <param name="SizeBytes">Database file size (page_count * page_size) plus WAL, change log and snapshots.</param>
/// <param name="MaxSizeBytes">The enforced limit.</param>
/// <param name="Statements">Statements run since activation.</param>
/// <param name="RowsRead">Rows read since activation.</param>
/// <param name="RowsWritten">Rows written since activation.</param>
/// <param name="Commits">SQLite transactions committed since activation.</param>
/// <param name="PlanCacheHits">Prepared-statement cache hits.</param>
/// <param name="PlanCacheMisses">Prepared-statement cache misses.</param>
/// <param name="Bookmark">The current bookmark.</param>
/// <param name="Cache">Cache figures of this table, when a cache is configured.</param>
[GenerateSerializer, Immutable, Alias("orleansshards.ShardStats")]
public sealed record ShardStats(
    [Id(0)] string Shard,
    [Id(1)] long SizeBytes,
    [Id(2)] long MaxSizeBytes,
    [Id(3)] long Statements,
    [Id(4)] long RowsRead,
    [Id(5)] long RowsWritten,
    [Id(6)] long Commits,
    [Id(7)] long PlanCacheHits,
    [Id(8)] long PlanCacheMisses,
    [Id(9)] string? Bookmark,
    [Id(10)] CacheStats? Cache = null)
{
    /// <summary>Plan-cache hit rate in [0, 1].</summary>
    public double PlanCacheHitRate => PlanCacheHits + PlanCacheMisses == 0 ? 0 : (double)PlanCacheHits / (PlanCacheHits + PlanCacheMisses);
}
