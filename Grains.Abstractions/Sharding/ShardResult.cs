using Orleans;

namespace OrleansShards;

/// <summary>The outcome of sharding a table.</summary>
/// <param name="Shards">Each shard with its row count.</param>
/// <param name="Registry">The registry now in force.</param>
/// <param name="Stats">Row distribution.</param>
/// <param name="RowsMoved">Rows of the table copied into the shards.</param>
/// <param name="DurationMs">Wall time of the operation.</param>
/// <param name="StallMs">How long writes were held for the final switch.</param>
/// <param name="CorrelationId">The id carried by the operation's events.</param>
/// <param name="OperationId">The id of the operation's record (<c>GET /v1/operations/{id}</c>).</param>
[GenerateSerializer, Immutable, Alias("orleansshards.ShardResult")]
public sealed record ShardResult(
    [Id(0)] IReadOnlyList<ShardInfo> Shards,
    [Id(1)] ShardRegistryInfo Registry,
    [Id(2)] ShardDistributionStats Stats,
    [Id(3)] long RowsMoved,
    [Id(4)] long DurationMs,
    [Id(5)] long StallMs,
    [Id(6)] string CorrelationId,
    [Id(7)] string? OperationId = null);
