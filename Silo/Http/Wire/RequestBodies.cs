namespace OrleansShards.Silo.Http.Wire;

// The JSON bodies of the /v1 routes. Every member is nullable: a missing member is reported as
// INVALID_ARGUMENT by the handler, naming it, rather than by the deserializer.

/// <summary>Body of <c>POST /v1/tables/{table}/query</c>.</summary>
internal sealed record QueryBody(
    string? TenantId = null,
    string? Query = null,
    IReadOnlyList<SqlValue>? Params = null,
    string? Consistency = null,
    long? MaxStalenessMs = null,
    string? MinBookmark = null,
    SqlValue? ShardKey = null);

/// <summary>Body of <c>POST /v1/tables/{table}/mutation</c>.</summary>
internal sealed record MutationBody(
    string? TenantId = null,
    string? Query = null,
    IReadOnlyList<SqlValue>? Params = null,
    string? TransactionId = null,
    string? IdempotencyKey = null,
    SqlValue? ShardKey = null);

/// <summary>One statement of a batch body.</summary>
internal sealed record StatementBody(string? Query = null, IReadOnlyList<SqlValue>? Params = null);

/// <summary>Body of <c>POST /v1/tables/{table}/batch</c>.</summary>
internal sealed record BatchBody(
    string? TenantId = null,
    IReadOnlyList<StatementBody>? Statements = null,
    string? IdempotencyKey = null,
    SqlValue? ShardKey = null);

/// <summary>Body of <c>POST /v1/tables/{table}/ddl</c>.</summary>
internal sealed record DdlBody(string? TenantId = null, string? Query = null);

/// <summary>Body of <c>POST /v1/tables/{table}/transaction</c>; operation is BEGIN, COMMIT or ROLLBACK (any case).</summary>
internal sealed record TransactionBody(
    string? TenantId = null,
    string? Operation = null,
    string? TransactionId = null,
    string? IdempotencyKey = null);

/// <summary>Body of <c>POST /v1/tables/{table}/pitr/bookmark</c>.</summary>
internal sealed record BookmarkBody(string? TenantId = null, long? At = null);

/// <summary>Body of <c>POST /v1/tables/{table}/pitr/restore</c>.</summary>
internal sealed record RestoreBody(string? TenantId = null, string? Bookmark = null, string? OperationId = null);

/// <summary>Body of <c>POST /v1/tables/{table}/cache/warm</c>.</summary>
internal sealed record WarmBody(string? TenantId = null, IReadOnlyList<SqlValue>? PrimaryKeys = null, IReadOnlyList<ColumnLookup>? Lookups = null, bool HotKeys = false);

/// <summary>Body of <c>POST /v1/cluster/drain</c>.</summary>
internal sealed record DrainBody(string? Silo = null);

/// <summary>Body of <c>POST /v1/tables/{table}/move</c>: the silo to move the table's primary to, and its tenant (or <c>X-Tenant-Id</c>).</summary>
internal sealed record MoveBody(string? Silo = null, string? TenantId = null);

/// <summary>Body of <c>POST /v1/cluster/rebalance</c>: the largest difference in primaries left between two silos (default 1).</summary>
internal sealed record ClusterRebalanceBody(int? MaxSkew = null);
