namespace OrleansShards;

/// <summary>A read run on every shard.</summary>
/// <param name="Query">One read-only statement with <c>?</c> parameters. For <c>avg</c> it selects exactly one column: the value to average.</param>
/// <param name="Params">Parameter values.</param>
/// <param name="Aggregation">See <see cref="ShardAggregations"/>; default <c>concat</c>.</param>
/// <param name="TimeoutMs">Per-shard time limit; default 30 000.</param>
/// <param name="ContinueOnError">When true a failing shard is reported in its result and the others are still combined.</param>
public sealed record ShardQueryRequest(
    string Query,
    IReadOnlyList<SqlValue>? Params = null,
    string? Aggregation = ShardAggregations.Concat,
    int? TimeoutMs = null,
    bool ContinueOnError = false);
