using System.Text;

namespace OrleansShards.Grains.Storage.Native;

/// <summary>
/// One string argument of an authorizer call, as SQLite's UTF-8 bytes, without copying. It is
/// valid only during the callback. NULL (<see cref="IsNull"/>) is distinct from an empty string.
/// </summary>
internal readonly unsafe ref struct AuthorizerArgument
{
    private readonly byte* _value;

    /// <summary>Wraps a NUL-terminated UTF-8 string owned by SQLite (may be null).</summary>
    public AuthorizerArgument(byte* value) => _value = value;

    /// <summary>True when SQLite passed NULL.</summary>
    public bool IsNull => _value is null;

    /// <summary>The UTF-8 bytes (empty for NULL).</summary>
    public ReadOnlySpan<byte> Utf8 => _value is null ? default : new ReadOnlySpan<byte>(_value, StrLen(_value));

    /// <summary>True when not NULL and the first byte is <paramref name="value"/>.</summary>
    public bool StartsWith(byte value) => _value is not null && _value[0] == value;

    /// <summary>True when not NULL and equal to <paramref name="asciiLower"/> ignoring ASCII case.</summary>
    public bool EqualsIgnoreCase(ReadOnlySpan<byte> asciiLower) =>
        _value is not null && Ascii.EqualsIgnoreCase(Utf8, asciiLower);

    /// <summary>A managed copy (allocates), or null for NULL.</summary>
    public override string? ToString() => _value is null ? null : Encoding.UTF8.GetString(Utf8);

    private static int StrLen(byte* value)
    {
        var length = 0;
        while (value[length] != 0)
        {
            length++;
        }

        return length;
    }
}
