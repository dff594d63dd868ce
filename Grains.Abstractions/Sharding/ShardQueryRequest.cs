using Orleans;

namespace OrleansShards;

/// <summary>A read run on every shard.</summary>
/// <param name="Query">One read-only statement with <c>?</c> parameters. For <c>avg</c> it selects exactly one column: the value to average.</param>
/// <param name="Params">Parameter values.</param>
/// <param name="Aggregation">See <see cref="ShardAggregations"/>; default <c>concat</c>.</param>
/// <param name="TimeoutMs">Per-shard time limit; default 30 000.</param>
/// <param name="ContinueOnError">When true a failing shard is reported in its result and the others are still combined.</param>
[GenerateSerializer, Immutable, Alias("orleansshards.ShardQueryRequest")]
public sealed record ShardQueryRequest(
    [Id(0)] string Query,
    [Id(1)] IReadOnlyList<SqlValue>? Params = null,
    [Id(2)] string? Aggregation = ShardAggregations.Concat,
    [Id(3)] int? TimeoutMs = null,
    [Id(4)] bool ContinueOnError = false);
