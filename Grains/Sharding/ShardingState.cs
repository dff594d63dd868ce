using Orleans.Concurrency;

namespace OrleansShards.Grains.Sharding;

/// <summary>
/// The layout in force (null when not sharded) and the journal of a running operation (or null); <paramref name="Missing"/>
/// when the table does not exist at all.
/// </summary>
[GenerateSerializer, Immutable, Alias("orleansshards.sharding.ShardingState")]
internal sealed record ShardingState([Id(0)] ShardLayout? Layout, [Id(1)] ShardOperation? Operation, [Id(2)] bool Missing = false);
