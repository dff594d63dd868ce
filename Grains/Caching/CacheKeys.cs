using System.Globalization;
using System.Buffers;
using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace OrleansShards.Grains.Caching;

/// <summary>
/// The cache key formats. Every key starts with the tenant: rows by primary key
/// <c>{tenant}:t:{table}:id:{pk}</c>, rows by indexed column <c>{tenant}:idx:{table}:{col}:{val}</c>,
/// query results <c>{tenant}:q:{table}:v{version}:{hash}</c>.
/// </summary>
public static class CacheKeys
{
    public static string Row(string tenant, string table, string primaryKey) =>
        string.Concat(tenant, ":t:", table, ":id:", primaryKey);

    public static string Index(string tenant, string table, string column, string value) =>
        string.Concat(tenant, ":idx:", table, ":", column, ":", value);

    public static string Query(string tenant, string table, long version, string hash) =>
        string.Concat(tenant, ":q:", table, ":v", version.ToString(CultureInfo.InvariantCulture), ":", hash);

    /// <summary>The prefixes covering every row and index entry of a table (flushed on schema change or restore).</summary>
    public static string[] TablePrefixes(string tenant, string table) =>
        [string.Concat(tenant, ":t:", table, ":"), string.Concat(tenant, ":idx:", table, ":")];

    /// <summary>
    /// A stored value as it appears in keys: integers in decimal, reals in round-trip form (an
    /// integral real renders as the integer, as SQLite compares them equal), text as is, blobs as
    /// <c>x'hex'</c>. Null has no key (a lookup by NULL matches nothing).
    /// </summary>
    public static string? ValueText(SqlValue value) => value.Kind switch
    {
        SqlValueKind.Integer => value.AsInteger.ToString(CultureInfo.InvariantCulture),
        SqlValueKind.Real => value.AsReal is var r && r == Math.Floor(r) && Math.Abs(r) < 9.0e15
            ? ((long)r).ToString(CultureInfo.InvariantCulture)
            : value.AsReal.ToString("R", CultureInfo.InvariantCulture),
        SqlValueKind.Text => value.AsText,
        SqlValueKind.Blob => "x'" + Convert.ToHexString(value.AsBlob) + "'",
        _ => null,
    };

    /// <summary>A 128-bit hash (32 hex digits, from SHA-256) of a statement and its parameters with their kinds.</summary>
    public static string Hash(string sql, IReadOnlyList<SqlValue>? parameters)
    {
        ArgumentNullException.ThrowIfNull(sql);
        var buffer = new ArrayBufferWriter<byte>(256);
        Append(buffer, Encoding.UTF8.GetBytes(sql));
        if (parameters is not null)
        {
            foreach (var p in parameters)
            {
                var span = buffer.GetSpan(9);
                span[0] = (byte)p.Kind;
                switch (p.Kind)
                {
                    case SqlValueKind.Integer:
                        BinaryPrimitives.WriteInt64LittleEndian(span[1..], p.AsInteger);
                        buffer.Advance(9);
                        break;
                    case SqlValueKind.Real:
                        BinaryPrimitives.WriteDoubleLittleEndian(span[1..], p.AsReal);
                        buffer.Advance(9);
                        break;
                    case SqlValueKind.Text:
                        buffer.Advance(1);
                        Append(buffer, Encoding.UTF8.GetBytes(p.AsText));
                        break;
                    case SqlValueKind.Blob:
                        buffer.Advance(1);
                        Append(buffer, p.AsBlob);
                        break;
                    default:
                        buffer.Advance(1);
                        break;
                }
            }
        }

        Span<byte> digest = stackalloc byte[32];
        SHA256.HashData(buffer.WrittenSpan, digest);
        return Convert.ToHexStringLower(digest[..16]);
    }

    private static void Append(ArrayBufferWriter<byte> buffer, ReadOnlySpan<byte> bytes)
    {
        BinaryPrimitives.WriteInt32LittleEndian(buffer.GetSpan(4), bytes.Length);
        buffer.Advance(4);
        buffer.Write(bytes);
    }
}
