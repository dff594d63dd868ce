namespace OrleansShards.Grains.Writes;

/// <summary>What an idempotency key remembers: the results and sequence, or the deterministic error.</summary>
internal sealed record StoredOutcome(
    IReadOnlyList<StatementResult>? Results,
    long Sequence,
    string? ErrorCode = null,
    string? ErrorMessage = null);
