using System.Text.Json.Serialization;

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

/// <summary><c>GET /v1/cluster</c>.</summary>
internal sealed record ClusterResponse(string Self, bool Clustered, IReadOnlyList<ClusterSiloResponse> Silos);

/// <summary>One silo of <see cref="ClusterResponse"/>: its newest generation's address and status, and the shards it holds.</summary>
internal sealed record ClusterSiloResponse(string Name, string Address, string Status, long Primaries, long Replicas);

/// <summary>Answer of <c>POST /v1/cluster/drain</c>: the operation to follow at <c>/v1/operations/{id}</c>.</summary>
internal sealed record DrainResponse(string OperationId, string State);

/// <summary>Answer of <c>POST /v1/tables/{table}/move</c>: where the table's primary was and is, the hand-over's epoch, the bytes of the whole copy sent, and how long writes waited.</summary>
internal sealed record MoveResponse(string Table, string From, string To, long Epoch, long BytesCopied, double StallMs);

/// <summary>
/// <c>GET /v1/operations/{id}</c>: <c>{id, kind, target, state, phase, done, total, startedAt, endedAt?, error?}</c>; the error
/// has the shape of an API error (<c>{code, message, retryable}</c>).
/// </summary>
internal sealed record OperationResponse(
    string Id,
    string Kind,
    string Target,
    string State,
    string Phase,
    long Done,
    long Total,
    DateTimeOffset StartedAt,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] DateTimeOffset? EndedAt,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] ErrorDetail? Error);
