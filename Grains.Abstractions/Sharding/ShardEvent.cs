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
public sealed record ShardEvent(string Type, string CorrelationId, string Table, string Operation, long AtUnixMs, string? Detail = null);
