using Orleans;

namespace OrleansShards;

/// <summary>The registry of a table and the health of each shard.</summary>
/// <param name="Sharded">True when the table is sharded.</param>
/// <param name="Registry">The registry, or null when not sharded.</param>
/// <param name="Shards">Each shard's health (empty when not sharded).</param>
/// <param name="Stats">Row distribution over the healthy shards, or null when not sharded.</param>
/// <param name="Operation">The kind of a sharding operation in progress (<c>shard</c>, <c>unshard</c>, <c>rebalance</c>), or null.</param>
[GenerateSerializer, Immutable, Alias("orleansshards.ShardDiscovery")]
public sealed record ShardDiscovery(
    [Id(0)] bool Sharded,
    [Id(1)] ShardRegistryInfo? Registry,
    [Id(2)] IReadOnlyList<ShardHealth> Shards,
    [Id(3)] ShardDistributionStats? Stats,
    [Id(4)] string? Operation = null);
