using System.Text.Json;
using System.Text.Json.Serialization;

namespace OrleansShards.Grains.Sharding;

/// <summary>Source-generated JSON for what sharding stores in <c>_meta</c> and <c>_events</c>.</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, UseStringEnumConverter = true)]
[JsonSerializable(typeof(ShardLayout))]
[JsonSerializable(typeof(ShardOperation))]
[JsonSerializable(typeof(ShardEvent))]
internal sealed partial class ShardingJsonContext : JsonSerializerContext;
