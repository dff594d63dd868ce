using System.Text;

namespace OrleansShards.Grains.Storage;

/// <summary>
/// The result cap (<c>MaxResultRows</c>, <c>MaxResultBytes</c>) counted over rows that were already produced: the
/// answers of several partitions combined into one, and cached answers. Sizes are measured as a statement's result is
/// (<see cref="ShardConnection"/>): 8 bytes per number or NULL, the UTF-8 bytes of text, the bytes of a blob. Thread-safe.
/// </summary>
internal sealed class ResultCap(int maxRows, long maxBytes)
{
    private long _rows;
    private long _bytes;

    /// <summary>Adds <paramref name="rows"/> to the total.</summary>
    /// <exception cref="ShardException"><c>RESULT_TOO_LARGE</c> once the total passes the cap.</exception>
    public void Add(IReadOnlyList<SqlValue[]> rows)
    {
        if (!TryAdd(rows))
        {
            throw TooLarge(maxRows, maxBytes);
        }
    }

    /// <summary>Adds <paramref name="rows"/> to the total; false once the total passes the cap.</summary>
    public bool TryAdd(IReadOnlyList<SqlValue[]> rows)
    {
        long bytes = 0;
        foreach (var row in rows)
        {
            bytes += RowBytes(row);
        }

        var totalRows = Interlocked.Add(ref _rows, rows.Count);
        var totalBytes = Interlocked.Add(ref _bytes, bytes);
        return totalRows <= maxRows && totalBytes <= maxBytes;
    }

    /// <summary>The size of one row as the cap counts it.</summary>
    public static long RowBytes(SqlValue[] row)
    {
        long bytes = 0;
        foreach (var value in row)
        {
            bytes += value.Kind switch
            {
                SqlValueKind.Text => Encoding.UTF8.GetByteCount(value.AsText),
                SqlValueKind.Blob => value.AsBlob.Length,
                _ => 8,
            };
        }

        return bytes;
    }

    /// <summary>The refusal of a result past the cap (the same words whether one statement or several answers passed it).</summary>
    public static ShardException TooLarge(int maxRows, long maxBytes) => new(
        ShardErrorCode.ResultTooLarge,
        $"The result exceeds {maxRows} rows or {maxBytes} bytes; narrow the query (WHERE, LIMIT) or page through it.");
}
