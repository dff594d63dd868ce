using Orleans;

namespace OrleansShards;

/// <summary>The outcome of a rebalance.</summary>
/// <param name="RowsMoved">Rows of the table that changed shard.</param>
/// <param name="Before">Distribution before.</param>
/// <param name="After">Distribution after.</param>
/// <param name="ModifiedShards">Names of the shards that gained or lost rows, were added or removed.</param>
/// <param name="Shards">Each shard with its row count after.</param>
/// <param name="Registry">The registry now in force.</param>
/// <param name="DurationMs">Wall time.</param>
/// <param name="StallMs">How long writes were held for the final switch.</param>
/// <param name="CorrelationId">The id carried by the operation's events.</param>
/// <param name="Skipped">True when nothing needed to move.</param>
/// <param name="OperationId">The id of the operation's record (<c>GET /v1/operations/{id}</c>).</param>
[GenerateSerializer, Immutable, Alias("orleansshards.RebalanceResult")]
public sealed record RebalanceResult(
    [Id(0)] long RowsMoved,
    [Id(1)] ShardDistributionStats Before,
    [Id(2)] ShardDistributionStats After,
    [Id(3)] IReadOnlyList<string> ModifiedShards,
    [Id(4)] IReadOnlyList<ShardInfo> Shards,
    [Id(5)] ShardRegistryInfo Registry,
    [Id(6)] long DurationMs,
    [Id(7)] long StallMs,
    [Id(8)] string CorrelationId,
    [Id(9)] bool Skipped = false,
    [Id(10)] string? OperationId = null);
