using System.Globalization;
using OrleansShards.Grains.Storage;

namespace OrleansShards.Grains.Pitr;

/// <summary>
/// One restore of a shard whose storage the grain has closed, and the crash recovery of an interrupted
/// one. Files beside <c>{table}.db</c>: the prepared file <c>{table}.restore.db</c> and the marker
/// <c>{table}.restore</c>. Order, each step durable (fsync of file or directory) before the next:
/// <list type="number">
/// <item>Prepare: build the target state, snapshot it as <c>{new seq}.db</c>, copy in the live file's internal
/// tables (log, outbox, idempotency, events, meta), append the restore entry, verify, sync. A crash here
/// leaves the old file untouched; recovery deletes the prepared file (and the orphan snapshot, newer than
/// the shard's sequence).</item>
/// <item>Write the marker (temp name, sync, rename). From now on recovery rolls forward.</item>
/// <item>Delete the old file's <c>-wal</c>/<c>-shm</c> (they must never be applied to the new file).</item>
/// <item>Rename the prepared file over <c>{table}.db</c>.</item>
/// <item>Delete the marker.</item>
/// </list>
/// Recovery (before the shard opens): a marker with its prepared file present repeats steps 3–5; a
/// marker without it (already renamed) repeats 3 and 5; no marker but a prepared file discards it.
/// So a crash at any point leaves the old state or the new one, never a mix.
/// </summary>
internal sealed class ShardRestore
{
    private readonly ShardPaths _paths;
    private readonly SnapshotStore _snapshots;
    private readonly IRestoreStepObserver? _observer;

    public ShardRestore(ShardPaths paths, SnapshotStore snapshots, IRestoreStepObserver? observer)
    {
        _paths = paths;
        _snapshots = snapshots;
        _observer = observer;
    }

    /// <summary>Entries replayed by <see cref="Prepare"/>.</summary>
    public int EntriesReplayed { get; private set; }

    /// <summary>The snapshot <see cref="Prepare"/> started from.</summary>
    public long BaseSnapshot { get; private set; }

    public static string PreparedPath(ShardPaths paths) => Path.ChangeExtension(paths.Database, ".restore.db");

    public static string MarkerPath(ShardPaths paths) => Path.ChangeExtension(paths.Database, ".restore");

    /// <summary>
    /// Builds the restored file: the state of <paramref name="target"/>, with the live log continued by a
    /// restore entry <paramref name="newSequence"/> at <paramref name="atMs"/>. The live file must be closed
    /// by every other connection. Throws with the live file untouched.
    /// </summary>
    public void Prepare(long target, long newSequence, long atMs, long epoch = 0)
    {
        var prepared = PreparedPath(_paths);
        DeletePrepared(_paths);
        using (var live = new ShardConnection(_paths.Database, readOnly: false, planCacheSize: 16))
        {
            var builder = new ShardStateBuilder(_snapshots);
            using var file = builder.Build(live, prepared, target);
            EntriesReplayed = builder.EntriesReplayed;
            BaseSnapshot = builder.BaseSnapshot;

            // The restored state is itself a snapshot (before the log is copied in), so no later replay
            // ever has to walk through this restore entry.
            file.ExecuteInternal("INSERT OR REPLACE INTO _meta(key, value) VALUES ('commit:seq', ?)", newSequence);
            _snapshots.WriteCopyOf(prepared);

            ImportInternalTables(file, target, newSequence, atMs, epoch);
            var check = file.Query("PRAGMA quick_check");
            if (check is not [var only] || only[0].Kind != SqlValueKind.Text || only[0].AsText != "ok")
            {
                throw new ShardException(ShardErrorCode.Internal,
                    "The restored file failed its integrity check: " + string.Join("; ", check.Select(r => r[0].Kind == SqlValueKind.Text ? r[0].AsText : "?")));
            }

            file.Execute("PRAGMA journal_mode = DELETE");
        }

        FileDurability.SyncFile(prepared);
        _observer?.OnStep(RestoreStep.Prepared);
    }

    /// <summary>Swaps the prepared file in (steps 2–5). After the marker is durable, a failure is finished by <see cref="Recover"/>.</summary>
    public void Swap(long newSequence, long target)
    {
        var marker = MarkerPath(_paths);
        var temporary = marker + ".tmp";
        File.WriteAllText(temporary, string.Create(CultureInfo.InvariantCulture,
            $"prepared={Path.GetFileName(PreparedPath(_paths))}\nsequence={newSequence}\nrestoredTo={target}\n"));
        FileDurability.SyncFile(temporary);
        FileDurability.ReplaceDurably(temporary, marker);
        _observer?.OnStep(RestoreStep.MarkerWritten);

        RemoveOldWal(_paths);
        _observer?.OnStep(RestoreStep.OldWalRemoved);

        FileDurability.ReplaceDurably(PreparedPath(_paths), _paths.Database);
        _observer?.OnStep(RestoreStep.Renamed);

        File.Delete(marker);
        FileDurability.SyncDirectory(_paths.TenantDirectory);
    }

    /// <summary>Undoes a failed <see cref="Prepare"/>: deletes the prepared file and snapshots newer than <paramref name="currentSequence"/>.</summary>
    public void Discard(long currentSequence)
    {
        DeletePrepared(_paths);
        _snapshots.DeleteNewerThan(currentSequence);
    }

    /// <summary>
    /// Finishes or discards a restore interrupted by a crash; call before opening the shard file.
    /// Returns true when a restore was rolled forward.
    /// </summary>
    public static bool Recover(ShardPaths paths)
    {
        var marker = MarkerPath(paths);
        FileDurability.DeleteIfExists(marker + ".tmp");
        if (!File.Exists(marker))
        {
            DeletePrepared(paths);
            return false;
        }

        // The new file was never opened while the marker exists, so any -wal/-shm belongs to the old one.
        RemoveOldWal(paths);
        var prepared = PreparedPath(paths);
        if (File.Exists(prepared))
        {
            FileDurability.ReplaceDurably(prepared, paths.Database);
        }

        File.Delete(marker);
        FileDurability.SyncDirectory(paths.TenantDirectory);
        return true;
    }

    private static void RemoveOldWal(ShardPaths paths)
    {
        var removed = FileDurability.DeleteIfExists(paths.Wal);
        removed |= FileDurability.DeleteIfExists(paths.Database + "-shm");
        if (removed)
        {
            FileDurability.SyncDirectory(paths.TenantDirectory);
        }
    }

    private static void DeletePrepared(ShardPaths paths)
    {
        var prepared = PreparedPath(paths);
        FileDurability.DeleteIfExists(prepared + "-journal");
        FileDurability.DeleteIfExists(prepared);
    }

    /// <summary>Replaces the internal tables of the prepared file by the live ones and appends the restore entry.</summary>
    private void ImportInternalTables(ShardConnection file, long target, long newSequence, long atMs, long epoch)
    {
        file.Execute($"ATTACH DATABASE '{_paths.Database.Replace("'", "''", StringComparison.Ordinal)}' AS live");
        try
        {
            const string internalTables = "type = 'table' AND name LIKE '\\_%' ESCAPE '\\'";
            var liveTables = file.Query($"SELECT name, sql FROM live.sqlite_schema WHERE {internalTables} ORDER BY name");
            var present = file.Query($"SELECT name FROM main.sqlite_schema WHERE {internalTables}").Select(r => r[0].AsText).ToHashSet(StringComparer.Ordinal);
            file.Execute("BEGIN");
            foreach (var row in liveTables)
            {
                var name = row[0].AsText;
                if (!present.Contains(name))
                {
                    // An internal table the snapshot predates: create it (and its indexes) as the live file has it.
                    file.Execute(row[1].AsText);
                    foreach (var index in file.Query("SELECT sql FROM live.sqlite_schema WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL", name))
                    {
                        file.Execute(index[0].AsText);
                    }
                }

                file.Execute($"DELETE FROM main.\"{name}\"; INSERT INTO main.\"{name}\" SELECT * FROM live.\"{name}\";");
            }

            // With the epoch of the primary that restored, like every entry: a promotion ranks copies by their newest
            // entry's epoch, and a 0 here would rank a copy holding the acknowledged restore below one without it.
            file.ExecuteInternal(
                "INSERT INTO _changes(seq, at_ms, kind, changeset, ddl, restored_to, epoch) VALUES (?, ?, ?, NULL, NULL, ?, ?)",
                newSequence, atMs, (long)ChangeKind.Restore, target, epoch);
            file.ExecuteInternal("INSERT OR REPLACE INTO _meta(key, value) VALUES ('commit:seq', ?)", newSequence);
            file.Execute("COMMIT");
        }
        finally
        {
            if (SQLitePCL.raw.sqlite3_get_autocommit(file.Db) == 0)
            {
                file.Execute("ROLLBACK");
            }

            file.Execute("DETACH DATABASE live");
        }
    }
}
