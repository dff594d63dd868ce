using System.Globalization;
using OrleansShards.Grains.Storage;

namespace OrleansShards.Grains.Pitr;

/// <summary>
/// The snapshots of one shard: <c>{table}.snapshots/{seq:x16}.db</c>, each the shard's state right after
/// commit <c>seq</c>, written to a temporary name, fsynced, then renamed (so a snapshot file is always
/// complete). Snapshots carry the user tables and <c>_meta</c>; the other internal tables (change log,
/// outbox, idempotency, events) are emptied to save space — a restore takes those from the live file.
/// Snapshot 0 is implicit: an empty database with the internal schema.
/// </summary>
internal sealed class SnapshotStore
{
    private const string Extension = ".db";
    private const string TemporaryPrefix = ".tmp-";

    public SnapshotStore(string directory) => Directory = directory;

    public string Directory { get; }

    public string PathOf(long sequence) => Path.Combine(Directory, sequence.ToString("x16", CultureInfo.InvariantCulture) + Extension);

    /// <summary>Sequences of the complete snapshots, ascending.</summary>
    public List<long> List()
    {
        var sequences = new List<long>();
        if (!System.IO.Directory.Exists(Directory))
        {
            return sequences;
        }

        foreach (var file in System.IO.Directory.EnumerateFiles(Directory, "*" + Extension))
        {
            var name = Path.GetFileNameWithoutExtension(file);
            if (name.Length == 16 && long.TryParse(name, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var sequence) && sequence > 0)
            {
                sequences.Add(sequence);
            }
        }

        sequences.Sort();
        return sequences;
    }

    /// <summary>The newest snapshot at or before <paramref name="sequence"/>; 0 (the implicit empty one) when none.</summary>
    public long NewestAtOrBefore(long sequence)
    {
        var list = List();
        var index = list.BinarySearch(sequence);
        return index >= 0 ? list[index] : (~index > 0 ? list[~index - 1] : 0);
    }

    /// <summary>
    /// Snapshots the database at <paramref name="databasePath"/> with <c>VACUUM INTO</c> on a connection of its
    /// own (one read transaction: a consistent state that does not block the writer). Returns its sequence.
    /// <paramref name="cancellationToken"/> interrupts the copy (nothing is published).
    /// </summary>
    public long WriteFromDatabase(string databasePath, CancellationToken cancellationToken = default)
    {
        System.IO.Directory.CreateDirectory(Directory);
        var temporary = NewTemporaryPath();
        try
        {
            using (var source = new ShardConnection(databasePath, readOnly: true, planCacheSize: 4))
            {
                // VACUUM INTO writes its output with the source connection's synchronous setting: no syncs of the
                // temporary (a journal, the directory, the file). Publish syncs the finished file once.
                source.Execute("PRAGMA synchronous = OFF");

                // No time bound: a snapshot takes as long as the file needs. Canceled, the copy is interrupted.
                source.SetDeadline(TimeSpan.FromDays(1), cancellationToken);
                source.Execute($"VACUUM main INTO {Quote(temporary)}");
            }

            return Publish(temporary, strip: true);
        }
        catch
        {
            FileDurability.DeleteIfExists(temporary);
            throw;
        }
    }

    /// <summary>Publishes a copy of a closed-or-idle database file whose <c>_meta 'commit:seq'</c> names its state.</summary>
    public long WriteCopyOf(string databasePath)
    {
        System.IO.Directory.CreateDirectory(Directory);
        var temporary = NewTemporaryPath();
        try
        {
            File.Copy(databasePath, temporary);
            return Publish(temporary, strip: false);
        }
        catch
        {
            FileDurability.DeleteIfExists(temporary);
            throw;
        }
    }

    /// <summary>Deletes snapshots older than <paramref name="sequence"/>; returns how many.</summary>
    public int DeleteOlderThan(long sequence) => Delete(s => s < sequence);

    /// <summary>Deletes snapshots newer than <paramref name="sequence"/> (left by a restore that did not finish).</summary>
    public int DeleteNewerThan(long sequence) => Delete(s => s > sequence);

    /// <summary>Deletes temporary files left by a snapshot that did not finish.</summary>
    /// <summary>Whether <paramref name="path"/> is a snapshot being written (not yet a snapshot: never copied or shipped).</summary>
    public static bool IsTemporary(string path) => Path.GetFileName(path).StartsWith(TemporaryPrefix, StringComparison.Ordinal);

    public void DeleteTemporaries()
    {
        if (!System.IO.Directory.Exists(Directory))
        {
            return;
        }

        foreach (var file in System.IO.Directory.EnumerateFiles(Directory, TemporaryPrefix + "*"))
        {
            File.Delete(file);
        }
    }

    private int Delete(Func<long, bool> predicate)
    {
        var deleted = 0;
        foreach (var sequence in List())
        {
            if (predicate(sequence) && FileDurability.DeleteIfExists(PathOf(sequence)))
            {
                deleted++;
            }
        }

        if (deleted > 0)
        {
            FileDurability.SyncDirectory(Directory);
        }

        return deleted;
    }

    private long Publish(string temporary, bool strip)
    {
        long sequence = 0;
        string? compacted = null;
        var midDdl = false;
        try
        {
            using (var snapshot = new ShardConnection(temporary, readOnly: false, planCacheSize: 4))
            {
                // The temporary is not a snapshot until it is synced and renamed below (one left by a crash is deleted
                // at the next open), so none of the work on it needs a sync of its own: that is several syncs of a
                // whole-file copy saved, each of which would also hold up the shard's WAL syncs on the same disk.
                snapshot.Execute("PRAGMA journal_mode = DELETE; PRAGMA synchronous = OFF");

                // A replica's copy caught between a replayed DDL and its log row: its state is not the one its log names.
                // Not published (the next snapshot is taken when one is due again).
                midDdl = snapshot.ExecuteScalar($"SELECT count(*) FROM _meta WHERE key = '{Replication.ReplicaLog.DdlPendingKey}'") > 0;
                if (!midDdl)
                {
                    // The state's sequence is named in _meta before the log rows may be stripped (it is derived from them).
                    snapshot.ExecuteInternal("INSERT OR REPLACE INTO _meta(key, value) VALUES ('commit:seq', ?)", ChangeLog.CurrentSequence(snapshot));
                    if (strip)
                    {
                        var tables = snapshot.Query("SELECT name FROM sqlite_schema WHERE type = 'table' AND name LIKE '\\_%' ESCAPE '\\' AND name <> '_meta'");
                        if (tables.Count > 0)
                        {
                            snapshot.Execute("BEGIN");
                            foreach (var table in tables)
                            {
                                snapshot.Execute($"DELETE FROM \"{table[0].AsText}\"");
                            }

                            snapshot.Execute("COMMIT");
                        }

                        // The log may be most of the file: give its pages back when they are a large share. Not with a
                        // plain VACUUM: it renumbers the rowids of tables without an INTEGER PRIMARY KEY (and without an
                        // index), and the change log addresses those rows by rowid, so replay on top of a renumbered
                        // snapshot updates or deletes the wrong rows. VACUUM INTO copies every rowid as it is.
                        var free = snapshot.ExecuteScalar("PRAGMA freelist_count");
                        if (free * 4 > snapshot.ExecuteScalar("PRAGMA page_count"))
                        {
                            compacted = NewTemporaryPath();
                            snapshot.Execute($"VACUUM main INTO {Quote(compacted)}");
                        }
                    }

                    sequence = snapshot.ExecuteScalar("SELECT value FROM _meta WHERE key = 'commit:seq'");
                }
            }

            if (midDdl)
            {
                File.Delete(temporary);
                return 0;
            }

            if (compacted is not null)
            {
                File.Delete(temporary);
            }

            var published = compacted ?? temporary;
            FileDurability.SyncFile(published);
            if (sequence <= 0)
            {
                // State 0 is the implicit empty snapshot; never publish a file for it.
                File.Delete(published);
                return 0;
            }

            FileDurability.ReplaceDurably(published, PathOf(sequence));
            return sequence;
        }
        catch
        {
            if (compacted is not null)
            {
                FileDurability.DeleteIfExists(compacted);
            }

            throw;
        }
    }

    private string NewTemporaryPath() => Path.Combine(Directory, TemporaryPrefix + Guid.NewGuid().ToString("N") + Extension);

    private static string Quote(string value) => "'" + value.Replace("'", "''", StringComparison.Ordinal) + "'";
}
