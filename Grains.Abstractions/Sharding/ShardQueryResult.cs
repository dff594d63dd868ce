using Orleans;

namespace OrleansShards;

/// <summary>The combined answer of a cross-shard query.</summary>
/// <param name="Aggregation">The aggregation applied.</param>
/// <param name="Columns">Columns of <paramref name="Rows"/>.</param>
/// <param name="Rows">For <c>merge</c>/<c>concat</c> the rows; for <c>sum</c> one row of column sums; for <c>count</c> and <c>avg</c> one row holding <paramref name="Value"/>.</param>
/// <param name="Value">For <c>count</c> and <c>avg</c> the single answer (NULL for the avg of no value).</param>
/// <param name="TotalItems">Sum of the shards' item counts.</param>
/// <param name="Shards">Each shard's part.</param>
/// <param name="DurationMs">Wall time of the fan-out.</param>
[GenerateSerializer, Immutable, Alias("orleansshards.ShardQueryResult")]
public sealed record ShardQueryResult(
    [Id(0)] string Aggregation,
    [Id(1)] IReadOnlyList<string> Columns,
    [Id(2)] IReadOnlyList<SqlValue[]> Rows,
    [Id(3)] SqlValue? Value,
    [Id(4)] long TotalItems,
    [Id(5)] IReadOnlyList<ShardQueryShardResult> Shards,
    [Id(6)] double DurationMs);
