namespace OrleansShards;

/// <summary>A write: exactly one statement.</summary>
/// <param name="Query">One SQL statement (INSERT/UPDATE/DELETE/REPLACE, optionally with RETURNING).</param>
/// <param name="Params">Parameter values.</param>
/// <param name="TransactionId">When set, the statement is validated and queued in that transaction.</param>
/// <param name="IdempotencyKey">A repeat with the same key returns the first outcome without running again.</param>
/// <param name="ShardKey">For a sharded table: the shard key's value (required).</param>
public sealed record MutationRequest(
    string Query,
    IReadOnlyList<SqlValue>? Params = null,
    string? TransactionId = null,
    string? IdempotencyKey = null,
    SqlValue? ShardKey = null);
