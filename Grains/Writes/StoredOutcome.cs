namespace OrleansShards.Grains.Writes;

/// <summary>
/// What an idempotency key remembers: the results and sequence, or the deterministic error, and the hash of the
/// request it answered (<see cref="RequestHash"/>), so a different request with the same key is refused.
/// </summary>
internal sealed record StoredOutcome(
    IReadOnlyList<StatementResult>? Results,
    long Sequence,
    string? ErrorCode = null,
    string? ErrorMessage = null,
    string? RequestHash = null);
