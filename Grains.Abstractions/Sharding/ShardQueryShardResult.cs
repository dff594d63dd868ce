using Orleans;

namespace OrleansShards;

/// <summary>One shard's part of a cross-shard query.</summary>
/// <param name="Shard">The shard's table name.</param>
/// <param name="Index">The shard's index.</param>
/// <param name="ItemCount">Rows it returned (for <c>count</c>: rows it counted; for <c>avg</c>: non-NULL values).</param>
/// <param name="DurationMs">How long it took.</param>
/// <param name="Error">Its error message, or null.</param>
/// <param name="ErrorCode">Its error code (wire form), or null.</param>
/// <param name="Sum">For <c>avg</c>: the sum of its values.</param>
[GenerateSerializer, Immutable, Alias("orleansshards.ShardQueryShardResult")]
public sealed record ShardQueryShardResult(
    [Id(0)] string Shard,
    [Id(1)] int Index,
    [Id(2)] long ItemCount,
    [Id(3)] double DurationMs,
    [Id(4)] string? Error = null,
    [Id(5)] string? ErrorCode = null,
    [Id(6)] double? Sum = null);
