namespace OrleansShards;

/// <summary>The registry of a table and the health of each shard.</summary>
/// <param name="Sharded">True when the table is sharded.</param>
/// <param name="Registry">The registry, or null when not sharded.</param>
/// <param name="Shards">Each shard's health (empty when not sharded).</param>
/// <param name="Stats">Row distribution over the healthy shards, or null when not sharded.</param>
/// <param name="Operation">The kind of a sharding operation in progress (<c>shard</c>, <c>unshard</c>, <c>rebalance</c>), or null.</param>
public sealed record ShardDiscovery(
    bool Sharded,
    ShardRegistryInfo? Registry,
    IReadOnlyList<ShardHealth> Shards,
    ShardDistributionStats? Stats,
    string? Operation = null);
