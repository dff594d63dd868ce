using System.Globalization;
using System.Text.Json.Serialization;
using Orleans;

namespace OrleansShards;

/// <summary>
/// One SQL value: NULL, a 64-bit integer (exact), a REAL, TEXT or a BLOB. Parameters and
/// result cells use it, so an integer never passes through a double on its way.
/// In JSON: integer → INTEGER, other number → REAL, string → TEXT, null → NULL,
/// <c>{"$blob":"&lt;base64&gt;"}</c> → BLOB.
/// </summary>
[JsonConverter(typeof(SqlValueJsonConverter))]
[GenerateSerializer, Immutable, Alias("orleansshards.SqlValue")]
public readonly struct SqlValue : IEquatable<SqlValue>
{
    [Id(1)]
    private readonly long _integer;
    [Id(2)]
    private readonly double _real;
    [Id(3)]
    private readonly object? _reference;

    private SqlValue(SqlValueKind kind, long integer, double real, object? reference)
    {
        Kind = kind;
        _integer = integer;
        _real = real;
        _reference = reference;
    }

    /// <summary>SQL NULL.</summary>
    public static SqlValue Null => default;

    /// <summary>The storage class of this value.</summary>
    [Id(0)]
    public SqlValueKind Kind { get; }

    /// <summary>True when this value is SQL NULL.</summary>
    public bool IsNull => Kind == SqlValueKind.Null;

    /// <summary>The integer; valid when <see cref="Kind"/> is <see cref="SqlValueKind.Integer"/>.</summary>
    /// <exception cref="InvalidOperationException">The value is not an integer.</exception>
    public long AsInteger => Kind == SqlValueKind.Integer ? _integer : throw WrongKind(SqlValueKind.Integer);

    /// <summary>The number as a double; valid for INTEGER and REAL values.</summary>
    /// <exception cref="InvalidOperationException">The value is not a number.</exception>
    public double AsReal => Kind switch
    {
        SqlValueKind.Real => _real,
        SqlValueKind.Integer => _integer,
        _ => throw WrongKind(SqlValueKind.Real),
    };

    /// <summary>The text; valid when <see cref="Kind"/> is <see cref="SqlValueKind.Text"/>.</summary>
    /// <exception cref="InvalidOperationException">The value is not text.</exception>
    public string AsText => Kind == SqlValueKind.Text ? (string)_reference! : throw WrongKind(SqlValueKind.Text);

    /// <summary>The bytes; valid when <see cref="Kind"/> is <see cref="SqlValueKind.Blob"/>.</summary>
    /// <exception cref="InvalidOperationException">The value is not a blob.</exception>
    public byte[] AsBlob => Kind == SqlValueKind.Blob ? (byte[])_reference! : throw WrongKind(SqlValueKind.Blob);

    /// <summary>Creates an INTEGER value.</summary>
    public static SqlValue FromInteger(long value) => new(SqlValueKind.Integer, value, 0, null);

    /// <summary>Creates a REAL value.</summary>
    public static SqlValue FromReal(double value) => new(SqlValueKind.Real, 0, value, null);

    /// <summary>Creates a TEXT value, or NULL when <paramref name="value"/> is null.</summary>
    public static SqlValue FromText(string? value) => value is null ? Null : new(SqlValueKind.Text, 0, 0, value);

    /// <summary>Creates a BLOB value, or NULL when <paramref name="value"/> is null.</summary>
    public static SqlValue FromBlob(byte[]? value) => value is null ? Null : new(SqlValueKind.Blob, 0, 0, value);

    /// <summary>
    /// Converts a CLR value: null/DBNull, integral types, floating types, decimal (as REAL),
    /// bool (as 0/1), string, byte[] and <see cref="SqlValue"/> itself.
    /// </summary>
    /// <exception cref="ArgumentException">The type has no SQL storage class.</exception>
    public static SqlValue FromObject(object? value) => value switch
    {
        null or DBNull => Null,
        SqlValue v => v,
        long l => FromInteger(l),
        int i => FromInteger(i),
        short s => FromInteger(s),
        sbyte sb => FromInteger(sb),
        byte b => FromInteger(b),
        ushort us => FromInteger(us),
        uint ui => FromInteger(ui),
        ulong ul when ul <= long.MaxValue => FromInteger((long)ul),
        bool bo => FromInteger(bo ? 1 : 0),
        double d => FromReal(d),
        float f => FromReal(f),
        decimal m => FromReal((double)m),
        string str => FromText(str),
        byte[] bytes => FromBlob(bytes),
        _ => throw new ArgumentException($"A value of type {value.GetType().Name} has no SQL storage class.", nameof(value)),
    };

    /// <summary>The value as a CLR object: null, long, double, string or byte[].</summary>
    public object? ToObject() => Kind switch
    {
        SqlValueKind.Integer => _integer,
        SqlValueKind.Real => _real,
        SqlValueKind.Text or SqlValueKind.Blob => _reference,
        _ => null,
    };

    /// <summary>Converts an integer.</summary>
    public static implicit operator SqlValue(long value) => FromInteger(value);

    /// <summary>Converts an integer.</summary>
    public static implicit operator SqlValue(int value) => FromInteger(value);

    /// <summary>Converts a double.</summary>
    public static implicit operator SqlValue(double value) => FromReal(value);

    /// <summary>Converts text (null becomes NULL).</summary>
    public static implicit operator SqlValue(string? value) => FromText(value);

    /// <summary>Converts bytes (null becomes NULL).</summary>
    public static implicit operator SqlValue(byte[]? value) => FromBlob(value);

    /// <inheritdoc />
    public bool Equals(SqlValue other)
    {
        if (Kind != other.Kind)
        {
            return false;
        }

        return Kind switch
        {
            SqlValueKind.Null => true,
            SqlValueKind.Integer => _integer == other._integer,
            SqlValueKind.Real => _real.Equals(other._real),
            SqlValueKind.Text => string.Equals((string)_reference!, (string)other._reference!, StringComparison.Ordinal),
            _ => ((byte[])_reference!).AsSpan().SequenceEqual((byte[])other._reference!),
        };
    }

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is SqlValue other && Equals(other);

    /// <inheritdoc />
    public override int GetHashCode() => Kind switch
    {
        SqlValueKind.Null => 0,
        SqlValueKind.Integer => _integer.GetHashCode(),
        SqlValueKind.Real => _real.GetHashCode(),
        SqlValueKind.Text => StringComparer.Ordinal.GetHashCode((string)_reference!),
        _ => ((byte[])_reference!).Length,
    };

    /// <summary>Equality of kind and value.</summary>
    public static bool operator ==(SqlValue left, SqlValue right) => left.Equals(right);

    /// <summary>Inequality of kind or value.</summary>
    public static bool operator !=(SqlValue left, SqlValue right) => !left.Equals(right);

    /// <summary>A readable rendering: NULL, the number, the text, or <c>x'hex'</c> for a blob.</summary>
    public override string ToString() => Kind switch
    {
        SqlValueKind.Null => "NULL",
        SqlValueKind.Integer => _integer.ToString(CultureInfo.InvariantCulture),
        SqlValueKind.Real => _real.ToString("R", CultureInfo.InvariantCulture),
        SqlValueKind.Text => (string)_reference!,
        _ => "x'" + Convert.ToHexString((byte[])_reference!) + "'",
    };

    private InvalidOperationException WrongKind(SqlValueKind wanted) =>
        new($"The value is {Kind}, not {wanted}.");
}
