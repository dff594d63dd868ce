namespace OrleansShards.Client.Http.Wire;

// Answers whose wire shape differs from the Grains.Abstractions result records.

/// <summary><c>{error:{code, message, retryable}}</c>.</summary>
internal sealed record ErrorResponse(ErrorDetail? Error);

internal sealed record ErrorDetail(string? Code, string? Message, bool Retryable);

/// <summary><c>{changes, lastInsertRowId, bookmark}</c> or, queued in a transaction, <c>{queued:true}</c>.</summary>
internal sealed record MutationResponse(long Changes, long LastInsertRowId, string? Bookmark, bool Queued);

/// <summary><c>{ok, bookmark}</c>.</summary>
internal sealed record DdlResponse(bool Ok, string? Bookmark);

/// <summary>BEGIN <c>{transactionId, expiresAtUnixMs}</c>, COMMIT <c>{transactionId, results, bookmark}</c>, ROLLBACK <c>{transactionId, rolledBack}</c>.</summary>
internal sealed record TransactionResponse(
    string? TransactionId,
    long? ExpiresAtUnixMs,
    IReadOnlyList<StatementResult>? Results,
    string? Bookmark,
    bool RolledBack);

/// <summary><c>GET /v1/operations/{id}</c>: <c>{id, kind, target, state, phase, done, total, startedAt, endedAt?, error?}</c>.</summary>
internal sealed record OperationResponse(
    string Id,
    string Kind,
    string Target,
    string State,
    string Phase,
    long Done,
    long Total,
    DateTimeOffset StartedAt,
    DateTimeOffset? EndedAt,
    ErrorDetail? Error);
