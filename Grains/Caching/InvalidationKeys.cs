using OrleansShards.Grains.Storage;
using OrleansShards.Grains.Storage.Native;

namespace OrleansShards.Grains.Caching;

/// <summary>
/// Turns one commit's changeset into the exact cache keys it made stale: the row key of every
/// changed row of the shard's table, and for each indexed column the index keys of its old and new
/// values. An update records only the columns it changed, so for an indexed column it left alone
/// the current value is read back by primary key inside the same transaction.
/// </summary>
internal sealed class InvalidationKeys(string tenant, string table)
{
    /// <summary>Above this many keys an event flushes the table instead of listing them.</summary>
    public const int MaxKeys = 10_000;

    private TableInfo? _info;

    /// <summary>Forgets the table's schema (after DDL).</summary>
    public void Reset() => _info = null;

    /// <summary>The keys of <paramref name="records"/>, or null when the table must be flushed instead.</summary>
    public List<string>? Extract(ShardConnection writer, IReadOnlyList<ChangeRecord> records)
    {
        var keys = new HashSet<string>(StringComparer.Ordinal);
        foreach (var record in records)
        {
            if (!string.Equals(record.Table, table, StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            var info = _info ??= TableInfo.Load(writer, table);
            var offset = record.ColumnCount - info.Columns.Length;
            if (offset is not (0 or 1))
            {
                return null; // The changeset does not match the schema we know: flush.
            }

            // The primary key: the declared single column, or the captured rowid.
            var pkIndex = offset == 1 ? 0 : info.PrimaryKey.Length == 1 ? info.PrimaryKey[0] : -1;
            if (pkIndex >= 0 && (record.Old[pkIndex] ?? record.New[pkIndex]) is { } pk && CacheKeys.ValueText(pk) is { } pkText)
            {
                keys.Add(CacheKeys.Row(tenant, table, pkText));
            }

            SqlValue[]? current = null;
            for (var c = 0; c < info.Columns.Length; c++)
            {
                var column = info.Columns[c];
                if (!info.Indexed.Contains(column))
                {
                    continue;
                }

                var i = c + offset;
                AddIndex(keys, column, record.Old[i]);
                AddIndex(keys, column, record.New[i]);
                if (record.Op == ChangeOperation.Update && record.Old[i] is null)
                {
                    // Unchanged indexed column of an updated row: its (current) value keys an entry that changed.
                    current ??= ReadCurrent(writer, info, record, offset);
                    if (current is null)
                    {
                        return null;
                    }

                    AddIndex(keys, column, current[c]);
                }
            }

            if (keys.Count > MaxKeys)
            {
                return null;
            }
        }

        return [.. keys];
    }

    private void AddIndex(HashSet<string> keys, string column, SqlValue? value)
    {
        if (value is { } v && CacheKeys.ValueText(v) is { } text)
        {
            keys.Add(CacheKeys.Index(tenant, table, column, text));
        }
    }

    private static SqlValue[]? ReadCurrent(ShardConnection writer, TableInfo info, ChangeRecord record, int offset)
    {
        string where;
        SqlValue[] args;
        if (offset == 1)
        {
            where = "rowid = ?";
            args = [record.Old[0]!.Value];
        }
        else if (info.PrimaryKey.Length > 0)
        {
            where = string.Join(" AND ", info.PrimaryKey.Select(p => Quote(info.Columns[p]) + " = ?"));
            args = info.PrimaryKey.Select(p => record.Old[p] ?? SqlValue.Null).ToArray();
        }
        else
        {
            return null;
        }

        var select = string.Join(", ", info.Columns.Select(Quote));
        var rows = writer.Query($"SELECT {select} FROM {Quote(info.Table)} WHERE {where}", args);
        return rows is [var row, ..] ? row : null;
    }

    private static string Quote(string name) => "\"" + name.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
}
