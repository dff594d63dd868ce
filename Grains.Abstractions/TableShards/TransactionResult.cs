namespace OrleansShards;

/// <summary>The answer to a transaction call.</summary>
/// <param name="TransactionId">The transaction's id.</param>
/// <param name="ExpiresAtUnixMs">For BEGIN: when the transaction expires unless committed.</param>
/// <param name="Results">For COMMIT: one result per queued statement.</param>
/// <param name="Bookmark">For COMMIT: the bookmark of the commit.</param>
/// <param name="RolledBack">For ROLLBACK: true.</param>
public sealed record TransactionResult(
    string TransactionId,
    long? ExpiresAtUnixMs = null,
    IReadOnlyList<StatementResult>? Results = null,
    string? Bookmark = null,
    bool RolledBack = false);
