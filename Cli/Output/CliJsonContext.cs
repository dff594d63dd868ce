using System.Text.Json;
using System.Text.Json.Serialization;

namespace OrleansShards.Cli.Output;

/// <summary>JSON of <c>--json</c> output, of <c>--param</c> values and of batch files (camelCase, as the HTTP API).</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, WriteIndented = true)]
[JsonSerializable(typeof(SqlValue))]
[JsonSerializable(typeof(List<Statement>))]
[JsonSerializable(typeof(BatchFile))]
[JsonSerializable(typeof(QueryResult))]
[JsonSerializable(typeof(MutationResult))]
[JsonSerializable(typeof(BatchResult))]
[JsonSerializable(typeof(DdlResult))]
[JsonSerializable(typeof(TransactionResult))]
[JsonSerializable(typeof(BookmarkResult))]
[JsonSerializable(typeof(RestoreResult))]
[JsonSerializable(typeof(ShardStats))]
[JsonSerializable(typeof(ShardResult))]
[JsonSerializable(typeof(UnshardResult))]
[JsonSerializable(typeof(ShardDiscovery))]
[JsonSerializable(typeof(ShardQueryResult))]
[JsonSerializable(typeof(RebalanceResult))]
internal sealed partial class CliJsonContext : JsonSerializerContext
{
}

/// <summary>A batch file of the form <c>{"statements":[{"query":…,"params":[…]}]}</c>.</summary>
internal sealed record BatchFile(List<Statement>? Statements);
