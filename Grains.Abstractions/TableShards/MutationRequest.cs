using Orleans;

namespace OrleansShards;

/// <summary>A write: exactly one statement.</summary>
/// <param name="Query">One SQL statement (INSERT/UPDATE/DELETE/REPLACE, optionally with RETURNING).</param>
/// <param name="Params">Parameter values.</param>
/// <param name="TransactionId">When set, the statement is validated and queued in that transaction.</param>
/// <param name="IdempotencyKey">A repeat with the same key returns the first outcome without running again.</param>
/// <param name="ShardKey">For a sharded table: the shard key's value (required).</param>
[GenerateSerializer, Immutable, Alias("orleansshards.MutationRequest")]
public sealed record MutationRequest(
    [Id(0)] string Query,
    [Id(1)] IReadOnlyList<SqlValue>? Params = null,
    [Id(2)] string? TransactionId = null,
    [Id(3)] string? IdempotencyKey = null,
    [Id(4)] SqlValue? ShardKey = null);
