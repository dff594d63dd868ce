using System.Text.Json;
using System.Text.Json.Serialization;

namespace OrleansShards.Grains.Caching;

/// <summary>Source-generated JSON of outbox payloads and saved hot keys.</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(InvalidationEvent))]
[JsonSerializable(typeof(List<HotKeyRecord>))]
internal sealed partial class CacheJsonContext : JsonSerializerContext;

/// <summary>A saved hot lookup (column null for a primary key).</summary>
internal sealed record HotKeyRecord(string? Column, SqlValue Value);
