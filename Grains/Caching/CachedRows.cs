using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace OrleansShards.Grains.Caching;

/// <summary>
/// The binary form of a cached answer (columns, rows, and whether the lookup found nothing):
/// length-prefixed UTF-8 names, then each cell as a kind byte and its value. Compact and exact
/// (integers stay 64-bit, blobs stay bytes).
/// </summary>
internal static class CachedRows
{
    private const byte Version = 1;

    public static byte[] Encode(IReadOnlyList<string> columns, IReadOnlyList<SqlValue[]> rows)
    {
        var buffer = new ArrayBufferWriter<byte>(64 + (rows.Count * columns.Count * 9));
        buffer.GetSpan(1)[0] = Version;
        buffer.Advance(1);
        WriteInt(buffer, columns.Count);
        foreach (var column in columns)
        {
            WriteBytes(buffer, Encoding.UTF8.GetBytes(column));
        }

        WriteInt(buffer, rows.Count);
        foreach (var row in rows)
        {
            foreach (var cell in row)
            {
                var span = buffer.GetSpan(9);
                span[0] = (byte)cell.Kind;
                switch (cell.Kind)
                {
                    case SqlValueKind.Integer:
                        BinaryPrimitives.WriteInt64LittleEndian(span[1..], cell.AsInteger);
                        buffer.Advance(9);
                        break;
                    case SqlValueKind.Real:
                        BinaryPrimitives.WriteDoubleLittleEndian(span[1..], cell.AsReal);
                        buffer.Advance(9);
                        break;
                    case SqlValueKind.Text:
                        buffer.Advance(1);
                        WriteBytes(buffer, Encoding.UTF8.GetBytes(cell.AsText));
                        break;
                    case SqlValueKind.Blob:
                        buffer.Advance(1);
                        WriteBytes(buffer, cell.AsBlob);
                        break;
                    default:
                        buffer.Advance(1);
                        break;
                }
            }
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <exception cref="FormatException">The bytes are not an encoded answer of this version.</exception>
    public static (string[] Columns, List<SqlValue[]> Rows) Decode(ReadOnlySpan<byte> data)
    {
        if (data.Length < 9 || data[0] != Version)
        {
            throw new FormatException("Not a cached answer of this engine version.");
        }

        var position = 1;
        var columnCount = ReadInt(data, ref position);
        var columns = new string[columnCount];
        for (var i = 0; i < columnCount; i++)
        {
            columns[i] = Encoding.UTF8.GetString(ReadBytes(data, ref position));
        }

        var rowCount = ReadInt(data, ref position);
        var rows = new List<SqlValue[]>(rowCount);
        for (var r = 0; r < rowCount; r++)
        {
            var row = new SqlValue[columnCount];
            for (var c = 0; c < columnCount; c++)
            {
                var kind = (SqlValueKind)data[position++];
                switch (kind)
                {
                    case SqlValueKind.Integer:
                        row[c] = SqlValue.FromInteger(BinaryPrimitives.ReadInt64LittleEndian(data[position..]));
                        position += 8;
                        break;
                    case SqlValueKind.Real:
                        row[c] = SqlValue.FromReal(BinaryPrimitives.ReadDoubleLittleEndian(data[position..]));
                        position += 8;
                        break;
                    case SqlValueKind.Text:
                        row[c] = SqlValue.FromText(Encoding.UTF8.GetString(ReadBytes(data, ref position)));
                        break;
                    case SqlValueKind.Blob:
                        row[c] = SqlValue.FromBlob(ReadBytes(data, ref position).ToArray());
                        break;
                    default:
                        row[c] = SqlValue.Null;
                        break;
                }
            }

            rows.Add(row);
        }

        return (columns, rows);
    }

    private static void WriteInt(ArrayBufferWriter<byte> buffer, int value)
    {
        BinaryPrimitives.WriteInt32LittleEndian(buffer.GetSpan(4), value);
        buffer.Advance(4);
    }

    private static void WriteBytes(ArrayBufferWriter<byte> buffer, ReadOnlySpan<byte> bytes)
    {
        WriteInt(buffer, bytes.Length);
        buffer.Write(bytes);
    }

    private static int ReadInt(ReadOnlySpan<byte> data, ref int position)
    {
        var value = BinaryPrimitives.ReadInt32LittleEndian(data[position..]);
        position += 4;
        return value;
    }

    private static ReadOnlySpan<byte> ReadBytes(ReadOnlySpan<byte> data, ref int position)
    {
        var length = ReadInt(data, ref position);
        var bytes = data.Slice(position, length);
        position += length;
        return bytes;
    }
}
