using System.Globalization;
using System.Text;

namespace OrleansShards.Grains.Sharding;

/// <summary>
/// A canonical, unambiguous string for one value or a tuple of values (a primary key), used as a dictionary key
/// and stored in the roundRobin assignment table. Each part is <c>{tag}{length}:{payload}</c>.
/// </summary>
internal static class KeyCodec
{
    public static string Encode(SqlValue value)
    {
        var builder = new StringBuilder();
        Append(builder, value);
        return builder.ToString();
    }

    public static string Encode(IReadOnlyList<SqlValue> values)
    {
        var builder = new StringBuilder();
        foreach (var value in values)
        {
            Append(builder, value);
        }

        return builder.ToString();
    }

    private static void Append(StringBuilder builder, SqlValue value)
    {
        var (tag, payload) = value.Kind switch
        {
            SqlValueKind.Integer => ('i', value.AsInteger.ToString(CultureInfo.InvariantCulture)),
            SqlValueKind.Real => ('r', BitConverter.DoubleToInt64Bits(value.AsReal).ToString(CultureInfo.InvariantCulture)),
            SqlValueKind.Text => ('t', value.AsText),
            SqlValueKind.Blob => ('b', Convert.ToBase64String(value.AsBlob)),
            _ => ('n', string.Empty),
        };
        builder.Append(tag).Append(payload.Length.ToString(CultureInfo.InvariantCulture)).Append(':').Append(payload);
    }
}
