namespace OrleansShards;

/// <summary>Several statements applied atomically: all or none.</summary>
/// <param name="Statements">The statements, run in order.</param>
/// <param name="IdempotencyKey">A repeat with the same key returns the first outcome without running again.</param>
/// <param name="ShardKey">For a sharded table: the shard key's value (required).</param>
public sealed record BatchRequest(
    IReadOnlyList<Statement> Statements,
    string? IdempotencyKey = null,
    SqlValue? ShardKey = null);
