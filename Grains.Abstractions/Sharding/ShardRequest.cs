using Orleans;

namespace OrleansShards;

/// <summary>How to shard a table.</summary>
/// <param name="Key">The shard key: a column, or a dotted path into a JSON column (<c>metadata.organization.id</c>). Required.</param>
/// <param name="Count">Number of shards, 1–1000.</param>
/// <param name="Strategy"><c>hash</c> (consistent, default), <c>range</c>, <c>roundRobin</c> or <c>custom</c>.</param>
/// <param name="KeyPath">A dotted JSON path inside the <paramref name="Key"/> column (alternative to a dotted key).</param>
/// <param name="Router">For <c>custom</c>: the name a router was registered under with <c>AddShardRouter</c>.</param>
/// <param name="OperationId">The id to record the operation under (see <see cref="IOperationGrain"/>); null: a new one.</param>
[GenerateSerializer, Immutable, Alias("orleansshards.ShardRequest")]
public sealed record ShardRequest(
    [Id(0)] string? Key,
    [Id(1)] int Count,
    [Id(2)] string? Strategy = ShardStrategies.Hash,
    [Id(3)] string? KeyPath = null,
    [Id(4)] string? Router = null,
    [Id(5)] string? OperationId = null);
