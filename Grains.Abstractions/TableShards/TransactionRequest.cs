namespace OrleansShards;

/// <summary>BEGIN, COMMIT or ROLLBACK of an interactive transaction.</summary>
/// <param name="Operation">The operation.</param>
/// <param name="TransactionId">Required for COMMIT and ROLLBACK.</param>
/// <param name="IdempotencyKey">For COMMIT: a repeat returns the first outcome.</param>
public sealed record TransactionRequest(
    TransactionOperation Operation,
    string? TransactionId = null,
    string? IdempotencyKey = null);
