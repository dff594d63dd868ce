namespace OrleansShards.Client.Http.Wire;

// The JSON bodies the client sends; the same members as the silo reads (camelCase, nulls omitted).

internal sealed record QueryBody(
    string TenantId,
    string Query,
    IReadOnlyList<SqlValue>? Params,
    string? Consistency,
    long? MaxStalenessMs,
    string? MinBookmark,
    SqlValue? ShardKey);

internal sealed record MutationBody(
    string TenantId,
    string Query,
    IReadOnlyList<SqlValue>? Params,
    string? TransactionId,
    string? IdempotencyKey,
    SqlValue? ShardKey);

internal sealed record StatementBody(string Query, IReadOnlyList<SqlValue>? Params);

internal sealed record BatchBody(
    string TenantId,
    IReadOnlyList<StatementBody> Statements,
    string? IdempotencyKey,
    SqlValue? ShardKey);

internal sealed record DdlBody(string TenantId, string Query);

internal sealed record TransactionBody(string TenantId, string Operation, string? TransactionId, string? IdempotencyKey);

internal sealed record BookmarkBody(string TenantId, long? At);

internal sealed record RestoreBody(string TenantId, string Bookmark, string? OperationId = null);

internal sealed record WarmBody(string TenantId, IReadOnlyList<SqlValue>? PrimaryKeys, IReadOnlyList<ColumnLookup>? Lookups, bool HotKeys);

internal sealed record TenantBody(string TenantId);
