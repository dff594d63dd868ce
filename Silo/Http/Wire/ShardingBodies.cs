namespace OrleansShards.Silo.Http.Wire;

// The JSON bodies of the sharding routes. Every member is nullable: the registry reports a missing
// or bad member as INVALID_ARGUMENT, naming it.

/// <summary>Body of <c>POST /v1/tables/{table}/shard</c>.</summary>
internal sealed record ShardBody(
    string? TenantId = null,
    string? Key = null,
    int? Count = null,
    string? Strategy = null,
    string? KeyPath = null,
    string? Router = null,
    string? OperationId = null);

/// <summary>Body of <c>POST /v1/tables/{table}/unshard</c> (the tenant may come from the header instead).</summary>
internal sealed record UnshardBody(string? TenantId = null, string? OperationId = null);

/// <summary>Body of <c>POST /v1/tables/{table}/shards/query</c>; <c>timeout</c> is an alias of <c>timeoutMs</c>.</summary>
internal sealed record ShardQueryBody(
    string? TenantId = null,
    string? Query = null,
    IReadOnlyList<SqlValue>? Params = null,
    string? Aggregation = null,
    int? TimeoutMs = null,
    int? Timeout = null,
    bool? ContinueOnError = null);

/// <summary>Body of <c>POST /v1/tables/{table}/rebalance</c>.</summary>
internal sealed record RebalanceBody(
    string? TenantId = null,
    int? TargetCount = null,
    double? MaxSkew = null,
    string? Strategy = null,
    string? OperationId = null);
