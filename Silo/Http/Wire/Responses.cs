namespace OrleansShards.Silo.Http.Wire;

// Answers whose wire shape differs from the grain's result record.

/// <summary><c>{error:{code, message, retryable}}</c>.</summary>
internal sealed record ErrorResponse(ErrorDetail Error);

/// <summary>The inner object of <see cref="ErrorResponse"/>.</summary>
internal sealed record ErrorDetail(string Code, string Message, bool Retryable);

/// <summary>An applied mutation: <c>{changes, lastInsertRowId, bookmark}</c>.</summary>
internal sealed record MutationResponse(long Changes, long LastInsertRowId, string? Bookmark);

/// <summary>A mutation queued in a transaction: <c>{queued:true}</c>.</summary>
internal sealed record QueuedResponse(bool Queued);

/// <summary>An applied schema change: <c>{ok:true, bookmark}</c>.</summary>
internal sealed record DdlResponse(bool Ok, string? Bookmark);

/// <summary>BEGIN: <c>{transactionId, expiresAtUnixMs}</c>.</summary>
internal sealed record TransactionBeginResponse(string TransactionId, long? ExpiresAtUnixMs);

/// <summary>COMMIT: <c>{transactionId, results, bookmark}</c>.</summary>
internal sealed record TransactionCommitResponse(string TransactionId, IReadOnlyList<StatementResult> Results, string? Bookmark);

/// <summary>ROLLBACK: <c>{transactionId, rolledBack:true}</c>.</summary>
internal sealed record TransactionRollbackResponse(string TransactionId, bool RolledBack);

/// <summary><c>GET /health</c>: status <c>ok</c> or <c>degraded</c>, whether the data directory is writable, live shards.</summary>
internal sealed record HealthResponse(
    string Status, bool DataDirectoryWritable, int? ActiveShards, int? Activations, long? OpenShardFiles = null, long? ShardFileBudget = null, bool FilesExhausted = false);
