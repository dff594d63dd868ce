using Orleans;

namespace OrleansShards;

/// <summary>Several statements applied atomically: all or none.</summary>
/// <param name="Statements">The statements, run in order.</param>
/// <param name="IdempotencyKey">A repeat with the same key returns the first outcome without running again.</param>
/// <param name="ShardKey">For a sharded table: the shard key's value (required).</param>
[GenerateSerializer, Immutable, Alias("orleansshards.BatchRequest")]
public sealed record BatchRequest(
    [Id(0)] IReadOnlyList<Statement> Statements,
    [Id(1)] string? IdempotencyKey = null,
    [Id(2)] SqlValue? ShardKey = null);
