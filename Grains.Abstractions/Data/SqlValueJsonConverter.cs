using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace OrleansShards;

/// <summary>
/// JSON encoding of <see cref="SqlValue"/>: integer → INTEGER (exact 64-bit), other number →
/// REAL, string → TEXT, null → NULL, <c>{"$blob":"base64"}</c> → BLOB, <c>{"$real":"Infinity"}</c> → REAL.
/// Booleans become 0/1. A REAL is always written with a fraction or exponent (<c>2.0</c>).
/// Anything else (arrays, other objects, integers beyond 64 bits) is rejected with a
/// <see cref="JsonException"/> that the HTTP layer reports as <c>INVALID_ARGUMENT</c>.
/// </summary>
public sealed class SqlValueJsonConverter : JsonConverter<SqlValue>
{
    /// <summary>The property name of a blob object.</summary>
    public const string BlobProperty = "$blob";

    /// <summary>The property name of a REAL object (for values JSON numbers cannot carry: infinities).</summary>
    public const string RealProperty = "$real";

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
                WriteReal(writer, value.AsReal);
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

    /// <summary>
    /// A REAL always carries a fraction or an exponent (<c>2.0</c>, <c>-0.0</c>, <c>1E+300</c>), so a reader tells it
    /// from an INTEGER; JSON has no infinities, so those are <c>{"$real":"Infinity"}</c> / <c>"-Infinity"</c>
    /// (and <c>"NaN"</c>, which SQLite itself stores as NULL).
    /// </summary>
    private static void WriteReal(Utf8JsonWriter writer, double value)
    {
        if (!double.IsFinite(value))
        {
            writer.WriteStartObject();
            writer.WriteString(RealProperty, double.IsNaN(value) ? "NaN" : value > 0 ? "Infinity" : "-Infinity");
            writer.WriteEndObject();
            return;
        }

        Span<byte> text = stackalloc byte[40];
        if (!value.TryFormat(text, out var written, "R", CultureInfo.InvariantCulture))
        {
            throw new JsonException("A REAL could not be written.");
        }

        if (text[..written].IndexOfAny((byte)'.', (byte)'E', (byte)'e') < 0)
        {
            text[written++] = (byte)'.';
            text[written++] = (byte)'0';
        }

        writer.WriteRawValue(text[..written], skipInputValidation: true);
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

        return SqlValue.FromReal(Finite(reader.GetDouble()));
    }

    /// <summary>A JSON number beyond a double's range (<c>1e400</c>) is refused rather than stored as an infinity.</summary>
    private static double Finite(double value) => double.IsInfinity(value)
        ? throw new JsonException("A number is beyond the range of a REAL (about ±1.8e308); send {\"$real\":\"Infinity\"} for an infinity.")
        : value;

    private static SqlValue ReadBlob(ref Utf8JsonReader reader)
    {
        SqlValue? value = null;
        while (reader.Read())
        {
            if (reader.TokenType == JsonTokenType.EndObject)
            {
                return value ?? throw new JsonException("A value object needs a \"$blob\" or \"$real\" property.");
            }

            if (reader.TokenType != JsonTokenType.PropertyName || value is not null)
            {
                throw new JsonException("The only objects accepted as SQL values are {\"$blob\":\"base64\"} and {\"$real\":\"Infinity\"}.");
            }

            if (reader.ValueTextEquals(BlobProperty))
            {
                reader.Read();
                if (reader.TokenType != JsonTokenType.String || !reader.TryGetBytesFromBase64(out var bytes))
                {
                    throw new JsonException("\"$blob\" must hold base64 text.");
                }

                value = SqlValue.FromBlob(bytes);
            }
            else if (reader.ValueTextEquals(RealProperty))
            {
                reader.Read();
                value = reader.TokenType switch
                {
                    JsonTokenType.Number => SqlValue.FromReal(Finite(reader.GetDouble())),
                    JsonTokenType.String when reader.ValueTextEquals("Infinity") => SqlValue.FromReal(double.PositiveInfinity),
                    JsonTokenType.String when reader.ValueTextEquals("-Infinity") => SqlValue.FromReal(double.NegativeInfinity),
                    JsonTokenType.String when reader.ValueTextEquals("NaN") => SqlValue.FromReal(double.NaN),
                    _ => throw new JsonException("\"$real\" must hold a number, \"Infinity\", \"-Infinity\" or \"NaN\"."),
                };
            }
            else
            {
                throw new JsonException("The only objects accepted as SQL values are {\"$blob\":\"base64\"} and {\"$real\":\"Infinity\"}.");
            }
        }

        throw new JsonException("Unterminated value object.");
    }
}
