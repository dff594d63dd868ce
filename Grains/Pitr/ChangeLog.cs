using OrleansShards.Grains.Storage;

namespace OrleansShards.Grains.Pitr;

/// <summary>Reads of the change log (<c>_changes</c>) that replace the per-commit <c>_meta</c> row and the <c>at_ms</c> index.</summary>
internal static class ChangeLog
{
    /// <summary>
    /// The sequence of the newest commit: the newest log row's, or <c>_meta 'commit:seq'</c> when that is higher
    /// (a restored or snapshot file, or one whose log was emptied). Writers no longer update <c>commit:seq</c> per commit.
    /// </summary>
    public static long CurrentSequence(ShardConnection connection) => connection.ExecuteScalar(
        "SELECT max(coalesce((SELECT value FROM _meta WHERE key = 'commit:seq'), 0), coalesce((SELECT max(seq) FROM _changes), 0))");

    /// <summary>The <c>at_ms</c> of the newest log row, or 0.</summary>
    public static long NewestAtMs(ShardConnection connection) =>
        connection.ExecuteScalar("SELECT coalesce((SELECT at_ms FROM _changes ORDER BY seq DESC LIMIT 1), 0)");

    /// <summary>
    /// The newest sequence whose <c>at_ms</c> is at or before <paramref name="atMs"/>, or null when every row is later
    /// (or the log is empty). A binary search over seq: <c>at_ms</c> never decreases along seq (the writer repeats the
    /// last time when the clock steps back), so no index on <c>at_ms</c> is needed. Gaps in seq are allowed.
    /// </summary>
    public static long? LatestAtOrBefore(ShardConnection connection, long atMs)
    {
        if (FirstFrom(connection, long.MinValue) is not { } first || first.AtMs > atMs)
        {
            return null;
        }

        var found = first.Seq;
        var low = first.Seq + 1;
        var high = connection.ExecuteScalar("SELECT coalesce(max(seq), 0) FROM _changes");
        while (low <= high)
        {
            var mid = low + ((high - low) / 2);
            if (FirstFrom(connection, mid) is not { } row)
            {
                break;
            }

            if (row.AtMs <= atMs)
            {
                found = row.Seq;
                low = row.Seq + 1;
            }
            else
            {
                high = mid - 1;
            }
        }

        return found;
    }

    /// <summary>The <c>at_ms</c> of the first log row at or after <paramref name="seq"/>, or null when there is none.</summary>
    public static long? AtMsFrom(ShardConnection connection, long seq) => FirstFrom(connection, seq)?.AtMs;

    /// <summary>
    /// The changeset bytes of the log rows after <paramref name="seq"/> (up to <paramref name="currentSequence"/>):
    /// exact when there are at most <see cref="SizeSampleRows"/> of them, otherwise their count times the mean of
    /// the newest ones, so the cost does not grow with the tail.
    /// </summary>
    public static long ChangesetBytesAfter(ShardConnection connection, long seq, long currentSequence)
    {
        var rows = connection.Query(
            "SELECT count(*), coalesce(sum(length(changeset)), 0) FROM (SELECT changeset FROM _changes WHERE seq > ? ORDER BY seq DESC LIMIT ?)",
            seq, SizeSampleRows);
        if (rows is not [var row, ..] || row[0].AsInteger == 0)
        {
            return 0;
        }

        var (count, bytes) = (row[0].AsInteger, row[1].AsInteger);
        return count < SizeSampleRows ? bytes : (long)((double)bytes / count * Math.Max(count, currentSequence - seq));
    }

    private const int SizeSampleRows = 256;

    /// <summary>The first row with seq ≥ <paramref name="seq"/>.</summary>
    private static (long Seq, long AtMs)? FirstFrom(ShardConnection connection, long seq)
    {
        var rows = connection.Query("SELECT seq, at_ms FROM _changes WHERE seq >= ? ORDER BY seq LIMIT 1", seq);
        return rows is [var row, ..] ? (row[0].AsInteger, row[1].AsInteger) : null;
    }
}
