using System.Text.Json;
using System.Text.Json.Serialization;

namespace OrleansShards;

/// <summary>
/// JSON of <see cref="Consistency"/>: the lower-case wire names <c>strong</c>, <c>bounded</c>, <c>cached</c>, as the
/// requests take them (read in any case), never the enum's number.
/// </summary>
public sealed class ConsistencyJsonConverter : JsonConverter<Consistency>
{
    /// <summary>The wire name of <paramref name="value"/>.</summary>
    public static string ToWire(Consistency value) => value switch
    {
        Consistency.Bounded => "bounded",
        Consistency.Cached => "cached",
        _ => "strong",
    };

    /// <inheritdoc />
    public override Consistency Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType != JsonTokenType.String)
        {
            throw new JsonException("consistency must be one of the strings strong, bounded or cached.");
        }

        return reader.GetString()?.ToLowerInvariant() switch
        {
            "strong" => Consistency.Strong,
            "bounded" => Consistency.Bounded,
            "cached" => Consistency.Cached,
            _ => throw new JsonException("consistency must be strong, bounded or cached."),
        };
    }

    /// <inheritdoc />
    public override void Write(Utf8JsonWriter writer, Consistency value, JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteStringValue(ToWire(value));
    }
}
