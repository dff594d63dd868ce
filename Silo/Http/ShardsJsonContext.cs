using System.Text.Json;
using System.Text.Json.Serialization;
using OrleansShards.Silo.Http.Wire;

namespace OrleansShards.Silo.Http;

/// <summary>
/// Source-generated JSON of every HTTP body and answer (camelCase web defaults). <see cref="SqlValue"/>
/// uses its own converter: exact 64-bit integers and <c>{"$blob":"base64"}</c> blobs.
/// </summary>
// Numbers are numbers: the web defaults would read "2" as 2, which the query-string parsers refuse. Member names match
// exactly: "TENANTID" is an unknown member, not a tenantId a proxy matching the documented name would miss.
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow, NumberHandling = JsonNumberHandling.Strict, AllowDuplicateProperties = false, PropertyNameCaseInsensitive = false)]
[JsonSerializable(typeof(QueryBody))]
[JsonSerializable(typeof(MutationBody))]
[JsonSerializable(typeof(BatchBody))]
[JsonSerializable(typeof(DdlBody))]
[JsonSerializable(typeof(TransactionBody))]
[JsonSerializable(typeof(BookmarkBody))]
[JsonSerializable(typeof(RestoreBody))]
[JsonSerializable(typeof(WarmBody))]
[JsonSerializable(typeof(WarmResult))]
[JsonSerializable(typeof(ErrorResponse))]
[JsonSerializable(typeof(MutationResponse))]
[JsonSerializable(typeof(QueuedResponse))]
[JsonSerializable(typeof(DdlResponse))]
[JsonSerializable(typeof(TransactionBeginResponse))]
[JsonSerializable(typeof(TransactionCommitResponse))]
[JsonSerializable(typeof(TransactionRollbackResponse))]
[JsonSerializable(typeof(HealthResponse))]
[JsonSerializable(typeof(QueryResult))]
[JsonSerializable(typeof(BatchResult))]
[JsonSerializable(typeof(BookmarkResult))]
[JsonSerializable(typeof(RestoreResult))]
[JsonSerializable(typeof(ShardStats))]
[JsonSerializable(typeof(ShardPlacementInfo))]
[JsonSerializable(typeof(ClusterResponse))]
[JsonSerializable(typeof(DrainBody))]
[JsonSerializable(typeof(MoveBody))]
[JsonSerializable(typeof(MoveResponse))]
[JsonSerializable(typeof(ClusterRebalanceBody))]
[JsonSerializable(typeof(DrainResponse))]
[JsonSerializable(typeof(ShardBody))]
[JsonSerializable(typeof(UnshardBody))]
[JsonSerializable(typeof(ShardQueryBody))]
[JsonSerializable(typeof(RebalanceBody))]
[JsonSerializable(typeof(ShardResult))]
[JsonSerializable(typeof(UnshardResult))]
[JsonSerializable(typeof(ShardDiscovery))]
[JsonSerializable(typeof(ShardQueryResult))]
[JsonSerializable(typeof(RebalanceResult))]
[JsonSerializable(typeof(OperationResponse))]
internal sealed partial class ShardsJsonContext : JsonSerializerContext
{
}
