using Orleans;

namespace OrleansShards;

/// <summary>How to rebalance a sharded table.</summary>
/// <param name="TargetCount">The new shard count (1–1000); default: unchanged.</param>
/// <param name="MaxSkew">Skip when the count is unchanged and the skew ratio (max/avg) is at most this.</param>
/// <param name="Strategy">
/// <c>incremental</c> (default): move only rows whose shard changes under the table's strategy (for <c>roundRobin</c>,
/// only keys of over-full or removed shards are reassigned). <c>full</c>: recompute the layout from the data
/// (new range split points from quantiles; every roundRobin key reassigned in turn); hash is consistent either way.
/// </param>
/// <param name="OperationId">The id to record the operation under (see <see cref="IOperationGrain"/>); null: a new one.</param>
[GenerateSerializer, Immutable, Alias("orleansshards.RebalanceRequest")]
public sealed record RebalanceRequest([Id(0)] int? TargetCount = null, [Id(1)] double? MaxSkew = null, [Id(2)] string? Strategy = "incremental", [Id(3)] string? OperationId = null);
