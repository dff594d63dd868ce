using System.Globalization;

namespace OrleansShards.Client;

/// <summary>Converts one <see cref="SqlValue"/> to a CLR type (the rules are listed on <see cref="RowMapping"/>).</summary>
internal static class SqlValueConversion
{
    public static bool IsScalar(Type type)
    {
        var t = Nullable.GetUnderlyingType(type) ?? type;
        return t.IsPrimitive || t.IsEnum || t == typeof(string) || t == typeof(decimal) || t == typeof(byte[])
            || t == typeof(Guid) || t == typeof(DateTime) || t == typeof(DateTimeOffset) || t == typeof(Uri)
            || t == typeof(SqlValue) || t == typeof(object);
    }

    public static object? Convert(SqlValue value, Type type, string column)
    {
        if (type == typeof(SqlValue))
        {
            return value;
        }

        if (type == typeof(object))
        {
            return value.ToObject();
        }

        var underlying = Nullable.GetUnderlyingType(type);
        if (value.IsNull)
        {
            return !type.IsValueType || underlying is not null
                ? null
                : throw Fail(value, type, column, "NULL cannot become a non-nullable value type");
        }

        var target = underlying ?? type;
        try
        {
            return value.Kind switch
            {
                SqlValueKind.Integer => FromInteger(value.AsInteger, target),
                SqlValueKind.Real => FromReal(value.AsReal, target),
                SqlValueKind.Text => FromText(value.AsText, target),
                _ => target == typeof(byte[]) ? value.AsBlob : null,
            } ?? throw Fail(value, type, column, "no conversion");
        }
        catch (Exception ex) when (ex is OverflowException or FormatException or ArgumentException)
        {
            throw Fail(value, type, column, ex.Message);
        }
    }

    private static object? FromInteger(long v, Type t)
    {
        if (t.IsEnum)
        {
            return Enum.ToObject(t, v);
        }

        return Type.GetTypeCode(t) switch
        {
            TypeCode.Int64 => v,
            TypeCode.Int32 => checked((int)v),
            TypeCode.Int16 => checked((short)v),
            TypeCode.SByte => checked((sbyte)v),
            TypeCode.Byte => checked((byte)v),
            TypeCode.UInt16 => checked((ushort)v),
            TypeCode.UInt32 => checked((uint)v),
            TypeCode.UInt64 => checked((ulong)v),
            TypeCode.Boolean => v != 0,
            TypeCode.Double => (double)v,
            TypeCode.Single => (float)v,
            TypeCode.Decimal => (decimal)v,
            TypeCode.String => v.ToString(CultureInfo.InvariantCulture),
            TypeCode.DateTime => DateTimeOffset.FromUnixTimeMilliseconds(v).UtcDateTime,
            _ when t == typeof(DateTimeOffset) => DateTimeOffset.FromUnixTimeMilliseconds(v),
            _ => null,
        };
    }

    private static object? FromReal(double v, Type t) => Type.GetTypeCode(t) switch
    {
        TypeCode.Double => v,
        TypeCode.Single => (float)v,
        TypeCode.Decimal => (decimal)v,
        TypeCode.String => v.ToString("R", CultureInfo.InvariantCulture),
        _ => null,
    };

    private static object? FromText(string v, Type t)
    {
        if (t.IsEnum)
        {
            return Enum.Parse(t, v, ignoreCase: true);
        }

        return Type.GetTypeCode(t) switch
        {
            TypeCode.String => v,
            TypeCode.Char when v.Length == 1 => v[0],
            TypeCode.DateTime => DateTime.Parse(v, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind),
            _ when t == typeof(DateTimeOffset) => DateTimeOffset.Parse(v, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal),
            _ when t == typeof(Guid) => Guid.Parse(v, CultureInfo.InvariantCulture),
            _ when t == typeof(Uri) => new Uri(v, UriKind.RelativeOrAbsolute),
            _ => null,
        };
    }

    private static InvalidOperationException Fail(SqlValue value, Type type, string column, string why) =>
        new($"Column '{column}': the {value.Kind} value cannot become {type.Name} ({why}).");
}
