namespace OrleansShards;

/// <summary>The outcome of sharding a table.</summary>
/// <param name="Shards">Each shard with its row count.</param>
/// <param name="Registry">The registry now in force.</param>
/// <param name="Stats">Row distribution.</param>
/// <param name="RowsMoved">Rows of the table copied into the shards.</param>
/// <param name="DurationMs">Wall time of the operation.</param>
/// <param name="StallMs">How long writes were held for the final switch.</param>
/// <param name="CorrelationId">The id carried by the operation's events.</param>
public sealed record ShardResult(
    IReadOnlyList<ShardInfo> Shards,
    ShardRegistryInfo Registry,
    ShardDistributionStats Stats,
    long RowsMoved,
    long DurationMs,
    long StallMs,
    string CorrelationId);
