using Orleans;

namespace OrleansShards;

/// <summary>The storage class of a <see cref="SqlValue"/>, as SQLite defines them.</summary>
[GenerateSerializer, Alias("orleansshards.SqlValueKind")]
public enum SqlValueKind : byte
{
    /// <summary>SQL NULL.</summary>
    Null = 0,
    /// <summary>A signed 64-bit integer, kept exact end to end.</summary>
    Integer = 1,
    /// <summary>An IEEE 754 double.</summary>
    Real = 2,
    /// <summary>UTF-8 text.</summary>
    Text = 3,
    /// <summary>Bytes; encoded in JSON as <c>{"$blob":"base64"}</c>.</summary>
    Blob = 4,
}
