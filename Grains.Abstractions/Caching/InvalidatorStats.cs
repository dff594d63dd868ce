using Orleans;

namespace OrleansShards;

/// <summary>Figures of one shard's cache invalidator since its activation.</summary>
/// <param name="Shard">The shard key, <c>tenant:table</c>.</param>
/// <param name="Watermark">The highest commit sequence whose invalidation has been applied.</param>
/// <param name="EventsApplied">Events applied (duplicates excluded).</param>
/// <param name="Duplicates">Events skipped because their sequence was at or below the watermark.</param>
/// <param name="KeysDeleted">Keys deleted (tombstoned).</param>
/// <param name="LatencyP50Ms">Median commit→delete latency in milliseconds.</param>
/// <param name="LatencyP95Ms">95th percentile commit→delete latency in milliseconds.</param>
/// <param name="LatencyP99Ms">99th percentile commit→delete latency in milliseconds.</param>
[GenerateSerializer, Immutable, Alias("orleansshards.InvalidatorStats")]
public sealed record InvalidatorStats(
    [Id(0)] string Shard,
    [Id(1)] long Watermark,
    [Id(2)] long EventsApplied,
    [Id(3)] long Duplicates,
    [Id(4)] long KeysDeleted,
    [Id(5)] double LatencyP50Ms,
    [Id(6)] double LatencyP95Ms,
    [Id(7)] double LatencyP99Ms);
