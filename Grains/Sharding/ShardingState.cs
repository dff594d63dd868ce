namespace OrleansShards.Grains.Sharding;

/// <summary>The layout in force (null when not sharded) and the journal of a running operation (or null).</summary>
internal sealed record ShardingState(ShardLayout? Layout, ShardOperation? Operation);
