using Orleans;

namespace OrleansShards;

/// <summary>BEGIN, COMMIT or ROLLBACK of an interactive transaction.</summary>
/// <param name="Operation">The operation.</param>
/// <param name="TransactionId">Required for COMMIT and ROLLBACK.</param>
/// <param name="IdempotencyKey">For COMMIT: a repeat returns the first outcome.</param>
/// <param name="NoGrowth">
/// For COMMIT: the tenant is at or over its storage quota, so the commit is refused (<c>CAPACITY_EXCEEDED</c>, nothing
/// applied) if it would grow the shard — statements queued while under the quota included (set by the HTTP API).
/// </param>
[GenerateSerializer, Immutable, Alias("orleansshards.TransactionRequest")]
public sealed record TransactionRequest(
    [Id(0)] TransactionOperation Operation,
    [Id(1)] string? TransactionId = null,
    [Id(2)] string? IdempotencyKey = null,
    [Id(3)] bool NoGrowth = false);
