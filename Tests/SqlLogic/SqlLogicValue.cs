using System.Globalization;
using System.Text;
using System.Text.Json;

namespace OrleansShards.Tests.SqlLogic;

internal enum SqlLogicValueKind
{
    Null,
    Integer,
    Real,
    Text,
    Blob,
}

/// <summary>One value of a result row with its SQLite storage class. TEXT and BLOB keep their bytes (UTF-8 for TEXT).</summary>
internal readonly record struct SqlLogicValue(SqlLogicValueKind Kind, long Integer = 0, double Real = 0, byte[]? Bytes = null)
{
    public static readonly SqlLogicValue Null = new(SqlLogicValueKind.Null);

    public static SqlLogicValue FromText(string text) => new(SqlLogicValueKind.Text, Bytes: Encoding.UTF8.GetBytes(text));

    /// <summary>
    /// Decodes the HTTP API's value encoding: JSON integer → INTEGER, number with a fraction or exponent → REAL,
    /// string → TEXT, null → NULL, <c>{"$blob":"…"}</c> → BLOB, <c>{"$real":"Infinity"}</c> → REAL.
    /// </summary>
    public static SqlLogicValue FromJson(JsonElement element)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Null:
                return Null;
            case JsonValueKind.String:
                return FromText(element.GetString()!);
            case JsonValueKind.Number:
                var raw = element.GetRawText();
                return raw.AsSpan().IndexOfAny(".eE") >= 0
                    ? new SqlLogicValue(SqlLogicValueKind.Real, Real: double.Parse(raw, NumberStyles.Float, CultureInfo.InvariantCulture))
                    : new SqlLogicValue(SqlLogicValueKind.Integer, Integer: long.Parse(raw, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture));
            case JsonValueKind.Object when element.TryGetProperty("$blob", out var blob):
                return new SqlLogicValue(SqlLogicValueKind.Blob, Bytes: Convert.FromBase64String(blob.GetString()!));
            case JsonValueKind.Object when element.TryGetProperty("$real", out var real):
                return new SqlLogicValue(SqlLogicValueKind.Real, Real: real.GetString() switch
                {
                    "Infinity" => double.PositiveInfinity,
                    "-Infinity" => double.NegativeInfinity,
                    var other => throw new FormatException("Unknown $real value: " + other),
                });
            default:
                throw new FormatException("Not a value of the HTTP API: " + element.GetRawText());
        }
    }

    public override string ToString() => Kind switch
    {
        SqlLogicValueKind.Null => "NULL",
        SqlLogicValueKind.Integer => Integer.ToString(CultureInfo.InvariantCulture),
        SqlLogicValueKind.Real => Real.ToString("R", CultureInfo.InvariantCulture),
        SqlLogicValueKind.Text => "'" + Encoding.UTF8.GetString(Bytes!) + "'",
        _ => "x'" + Convert.ToHexString(Bytes!) + "'",
    };
}
