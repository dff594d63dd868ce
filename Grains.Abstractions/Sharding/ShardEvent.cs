using Orleans;

namespace OrleansShards;

/// <summary>
/// A sharding event, published on stream namespace <see cref="ShardEvents.StreamNamespace"/> (provider
/// <see cref="ShardEvents.StreamProvider"/>, stream key <c>tenant:table</c>) and written to the table's <c>_events</c>.
/// </summary>
/// <param name="Type"><c>shard.started</c>, <c>shard.completed</c> or <c>shard.failed</c>.</param>
/// <param name="CorrelationId">The operation's id, the same on each of its events.</param>
/// <param name="Table">The table's key, <c>tenant:table</c>.</param>
/// <param name="Operation"><c>shard</c>, <c>unshard</c> or <c>rebalance</c>.</param>
/// <param name="AtUnixMs">When it happened.</param>
/// <param name="Detail">Counts for completed events, the error for failed ones.</param>
[GenerateSerializer, Immutable, Alias("orleansshards.ShardEvent")]
public sealed record ShardEvent([Id(0)] string Type, [Id(1)] string CorrelationId, [Id(2)] string Table, [Id(3)] string Operation, [Id(4)] long AtUnixMs, [Id(5)] string? Detail = null);
