using System.Text.Json;
using System.Text.Json.Serialization;

namespace OrleansShards;

/// <summary>
/// JSON encoding of <see cref="SqlValue"/>: integer → INTEGER (exact 64-bit), other number →
/// REAL, string → TEXT, null → NULL, <c>{"$blob":"base64"}</c> → BLOB. Booleans become 0/1.
/// Anything else (arrays, other objects, integers beyond 64 bits) is rejected with a
/// <see cref="JsonException"/> that the HTTP layer reports as <c>INVALID_ARGUMENT</c>.
/// </summary>
public sealed class SqlValueJsonConverter : JsonConverter<SqlValue>
{
    /// <summary>The property name of a blob object.</summary>
    public const string BlobProperty = "$blob";

    /// <inheritdoc />
    public override bool HandleNull => true;

    /// <inheritdoc />
    public override SqlValue Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.Null:
                return SqlValue.Null;
            case JsonTokenType.String:
                return SqlValue.FromText(reader.GetString());
            case JsonTokenType.True:
                return SqlValue.FromInteger(1);
            case JsonTokenType.False:
                return SqlValue.FromInteger(0);
            case JsonTokenType.Number:
                return ReadNumber(ref reader);
            case JsonTokenType.StartObject:
                return ReadBlob(ref reader);
            default:
                throw new JsonException($"A SQL value must be a number, string, null or {{\"$blob\":\"base64\"}}; got {reader.TokenType}.");
        }
    }

    /// <inheritdoc />
    public override void Write(Utf8JsonWriter writer, SqlValue value, JsonSerializerOptions options)
    {
        switch (value.Kind)
        {
            case SqlValueKind.Null:
                writer.WriteNullValue();
                break;
            case SqlValueKind.Integer:
                writer.WriteNumberValue(value.AsInteger);
                break;
            case SqlValueKind.Real:
                var d = value.AsReal;
                if (double.IsFinite(d))
                {
                    writer.WriteNumberValue(d);
                }
                else
                {
                    // JSON has no NaN/Infinity; SQLite stores NaN as NULL, ±Inf is rendered as text.
                    writer.WriteStringValue(d.ToString(System.Globalization.CultureInfo.InvariantCulture));
                }

                break;
            case SqlValueKind.Text:
                writer.WriteStringValue(value.AsText);
                break;
            default:
                writer.WriteStartObject();
                writer.WriteBase64String(BlobProperty, value.AsBlob);
                writer.WriteEndObject();
                break;
        }
    }

    private static SqlValue ReadNumber(ref Utf8JsonReader reader)
    {
        ReadOnlySpan<byte> span = reader.HasValueSequence ? System.Buffers.BuffersExtensions.ToArray(reader.ValueSequence) : reader.ValueSpan;
        var isIntegral = span.IndexOfAny((byte)'.', (byte)'e', (byte)'E') < 0;
        if (isIntegral)
        {
            if (reader.TryGetInt64(out var l))
            {
                return SqlValue.FromInteger(l);
            }

            throw new JsonException("An integer parameter must fit in 64 bits; send larger numbers as text.");
        }

        return SqlValue.FromReal(reader.GetDouble());
    }

    private static SqlValue ReadBlob(ref Utf8JsonReader reader)
    {
        byte[]? bytes = null;
        while (reader.Read())
        {
            if (reader.TokenType == JsonTokenType.EndObject)
            {
                return bytes is null ? throw new JsonException("A blob object needs a \"$blob\" property.") : SqlValue.FromBlob(bytes);
            }

            if (reader.TokenType != JsonTokenType.PropertyName || !reader.ValueTextEquals(BlobProperty) || bytes is not null)
            {
                throw new JsonException("The only object accepted as a SQL value is {\"$blob\":\"base64\"}.");
            }

            reader.Read();
            if (reader.TokenType != JsonTokenType.String || !reader.TryGetBytesFromBase64(out bytes))
            {
                throw new JsonException("\"$blob\" must hold base64 text.");
            }
        }

        throw new JsonException("Unterminated blob object.");
    }
}
