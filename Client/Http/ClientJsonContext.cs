using System.Text.Json;
using System.Text.Json.Serialization;
using OrleansShards.Client.Http.Wire;

namespace OrleansShards.Client.Http;

/// <summary>
/// Source-generated JSON of every body and answer (camelCase web defaults, as the silo), so the client
/// needs no reflection and trims cleanly. <see cref="SqlValue"/> keeps its own converter.
/// </summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(QueryBody))]
[JsonSerializable(typeof(MutationBody))]
[JsonSerializable(typeof(BatchBody))]
[JsonSerializable(typeof(DdlBody))]
[JsonSerializable(typeof(TransactionBody))]
[JsonSerializable(typeof(BookmarkBody))]
[JsonSerializable(typeof(TenantBody))]
[JsonSerializable(typeof(RestoreBody))]
[JsonSerializable(typeof(WarmBody))]
[JsonSerializable(typeof(WarmResult))]
[JsonSerializable(typeof(ErrorResponse))]
[JsonSerializable(typeof(MutationResponse))]
[JsonSerializable(typeof(DdlResponse))]
[JsonSerializable(typeof(TransactionResponse))]
[JsonSerializable(typeof(QueryResult))]
[JsonSerializable(typeof(BatchResult))]
[JsonSerializable(typeof(BookmarkResult))]
[JsonSerializable(typeof(RestoreResult))]
[JsonSerializable(typeof(ShardStats))]
[JsonSerializable(typeof(ShardPlacementInfo))]
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
internal sealed partial class ClientJsonContext : JsonSerializerContext
{
}
