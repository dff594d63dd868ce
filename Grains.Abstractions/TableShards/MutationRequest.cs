using Orleans;

namespace OrleansShards;

/// <summary>A write: exactly one statement.</summary>
/// <param name="Query">One SQL statement (INSERT/UPDATE/DELETE/REPLACE, optionally with RETURNING).</param>
/// <param name="Params">Parameter values.</param>
/// <param name="TransactionId">When set, the statement is validated and queued in that transaction.</param>
/// <param name="IdempotencyKey">A repeat with the same key returns the first outcome without running again.</param>
/// <param name="ShardKey">For a sharded table: the shard key's value (required).</param>
/// <param name="NoGrowth">
/// Set by the HTTP API for a tenant at or over its storage quota whose statement was let through because it frees space
/// (a DELETE or DROP): the write is refused (<c>CAPACITY_EXCEEDED</c>) if it grows the shard after all (a trigger that
/// inserts, for one).
/// </param>
[GenerateSerializer, Immutable, Alias("orleansshards.MutationRequest")]
public sealed record MutationRequest(
    [Id(0)] string Query,
    [Id(1)] IReadOnlyList<SqlValue>? Params = null,
    [Id(2)] string? TransactionId = null,
    [Id(3)] string? IdempotencyKey = null,
    [Id(4)] SqlValue? ShardKey = null,
    [Id(5)] bool NoGrowth = false);
