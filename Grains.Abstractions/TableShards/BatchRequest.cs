using Orleans;

namespace OrleansShards;

/// <summary>Several statements applied atomically: all or none.</summary>
/// <param name="Statements">The statements, run in order.</param>
/// <param name="IdempotencyKey">A repeat with the same key returns the first outcome without running again.</param>
/// <param name="ShardKey">For a sharded table: the shard key's value (required).</param>
/// <param name="NoGrowth">
/// Set by the HTTP API for a tenant at or over its storage quota whose statement was let through because it frees space
/// (a DELETE or DROP): the write is refused (<c>CAPACITY_EXCEEDED</c>) if it grows the shard after all (a trigger that
/// inserts, for one).
/// </param>
[GenerateSerializer, Immutable, Alias("orleansshards.BatchRequest")]
public sealed record BatchRequest(
    [Id(0)] IReadOnlyList<Statement> Statements,
    [Id(1)] string? IdempotencyKey = null,
    [Id(2)] SqlValue? ShardKey = null,
    [Id(3)] bool NoGrowth = false);
