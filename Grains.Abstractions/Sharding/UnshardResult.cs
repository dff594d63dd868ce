using Orleans;

namespace OrleansShards;

/// <summary>The outcome of merging a table's shards back into one.</summary>
/// <param name="RowCount">Rows of the table after the merge.</param>
/// <param name="RowsMoved">Rows copied back from the shards.</param>
/// <param name="ShardsMerged">How many shards were merged and removed.</param>
/// <param name="DurationMs">Wall time of the operation.</param>
/// <param name="StallMs">How long writes were held for the final switch.</param>
/// <param name="CorrelationId">The id carried by the operation's events.</param>
/// <param name="OperationId">The id of the operation's record (<c>GET /v1/operations/{id}</c>).</param>
[GenerateSerializer, Immutable, Alias("orleansshards.UnshardResult")]
public sealed record UnshardResult([Id(0)] long RowCount, [Id(1)] long RowsMoved, [Id(2)] int ShardsMerged, [Id(3)] long DurationMs, [Id(4)] long StallMs, [Id(5)] string CorrelationId, [Id(6)] string? OperationId = null);
