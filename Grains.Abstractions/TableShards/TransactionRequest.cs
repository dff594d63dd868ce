using Orleans;

namespace OrleansShards;

/// <summary>BEGIN, COMMIT or ROLLBACK of an interactive transaction.</summary>
/// <param name="Operation">The operation.</param>
/// <param name="TransactionId">Required for COMMIT and ROLLBACK.</param>
/// <param name="IdempotencyKey">For COMMIT: a repeat returns the first outcome.</param>
[GenerateSerializer, Immutable, Alias("orleansshards.TransactionRequest")]
public sealed record TransactionRequest(
    [Id(0)] TransactionOperation Operation,
    [Id(1)] string? TransactionId = null,
    [Id(2)] string? IdempotencyKey = null);
