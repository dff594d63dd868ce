using Orleans;

namespace OrleansShards;

/// <summary>The registry of a sharded table (persisted in the base table's file).</summary>
/// <param name="Id">The registry's id (the correlation id of the operation that created it).</param>
/// <param name="Key">The shard key column.</param>
/// <param name="KeyPath">The JSON path inside the key column, or null.</param>
/// <param name="Count">Number of shards.</param>
/// <param name="Strategy">The strategy (see <see cref="ShardStrategies"/>).</param>
/// <param name="CreatedAtUnixMs">When the table was sharded.</param>
/// <param name="Endpoints">The shards.</param>
/// <param name="SplitPoints">For <c>range</c>: the lower bound of shards 1..n-1.</param>
/// <param name="Router">For <c>custom</c>: the router's name.</param>
[GenerateSerializer, Immutable, Alias("orleansshards.ShardRegistryInfo")]
public sealed record ShardRegistryInfo(
    [Id(0)] string Id,
    [Id(1)] string Key,
    [Id(2)] string? KeyPath,
    [Id(3)] int Count,
    [Id(4)] string Strategy,
    [Id(5)] long CreatedAtUnixMs,
    [Id(6)] IReadOnlyList<ShardEndpoint> Endpoints,
    [Id(7)] IReadOnlyList<SqlValue>? SplitPoints = null,
    [Id(8)] string? Router = null);
