namespace OrleansShards.Client.Http.Wire;

// The JSON bodies of the sharding routes; the same members as the silo reads (Silo/Http/Wire/ShardingBodies.cs),
// camelCase, nulls omitted. The silo's alias "timeout" of "timeoutMs" is not used.

/// <summary>Body of <c>POST /v1/tables/{table}/shard</c>.</summary>
internal sealed record ShardBody(string TenantId, string? Key, int Count, string? Strategy, string? KeyPath, string? Router, string? OperationId = null);

/// <summary>Body of <c>POST /v1/tables/{table}/unshard</c>.</summary>
internal sealed record UnshardBody(string TenantId, string? OperationId = null);

/// <summary>Body of <c>POST /v1/tables/{table}/shards/query</c>.</summary>
internal sealed record ShardQueryBody(
    string TenantId,
    string Query,
    IReadOnlyList<SqlValue>? Params,
    string? Aggregation,
    int? TimeoutMs,
    bool ContinueOnError);

/// <summary>Body of <c>POST /v1/tables/{table}/rebalance</c>.</summary>
internal sealed record RebalanceBody(string TenantId, int? TargetCount, double? MaxSkew, string? Strategy, string? OperationId = null);
