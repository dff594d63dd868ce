using System.Text.Json;
using System.Text.Json.Serialization;

namespace OrleansShards.Grains.Writes;

/// <summary>Source-generated JSON for what the engine stores in its internal tables.</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(StoredOutcome))]
internal sealed partial class GrainsJsonContext : JsonSerializerContext;
