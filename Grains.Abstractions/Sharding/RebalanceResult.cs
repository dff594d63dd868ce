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
public sealed record RebalanceResult(
    long RowsMoved,
    ShardDistributionStats Before,
    ShardDistributionStats After,
    IReadOnlyList<string> ModifiedShards,
    IReadOnlyList<ShardInfo> Shards,
    ShardRegistryInfo Registry,
    long DurationMs,
    long StallMs,
    string CorrelationId,
    bool Skipped = false);
