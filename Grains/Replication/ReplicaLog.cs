using OrleansShards.Grains.Pitr;
using OrleansShards.Grains.Storage;

namespace OrleansShards.Grains.Replication;

/// <summary>
/// The change log as replication reads and writes it: the tail a replica lacks, the epoch of an entry (two copies
/// whose entry at the same sequence carries the same epoch hold the same log up to it, as in Raft), and a replica's
/// apply of a batch — the same entries, idempotency rows and engine rows the primary committed, in one transaction.
/// </summary>
internal static class ReplicaLog
{
    /// <summary>Engine <c>_meta</c> keys every copy keeps for itself (never shipped).</summary>
    private static readonly string[] LocalKeys = ["epoch", "commit:seq", "capacity:size", "cache:hot", DdlPendingKey];

    /// <summary>
    /// <c>_meta</c> key set in a replayed DDL's transaction and deleted in the transaction that logs it: a DDL replays in
    /// transactions of its own (foreign keys on, a possible fix-up) before its log row, and a snapshot of the copy taken
    /// between them would hold the DDL's state under the previous sequence. Such a snapshot is not published
    /// (<see cref="Pitr.SnapshotStore"/>).
    /// </summary>
    public const string DdlPendingKey = "replica:ddl";

    private static readonly string LocalKeyList = string.Join(", ", LocalKeys.Select(k => "'" + k + "'"));

    /// <summary>Up to <paramref name="max"/> entries after <paramref name="afterSeq"/>, in order; null when the log no longer holds the next one.</summary>
    public static List<ReplicatedEntry>? ReadTail(ShardConnection connection, long afterSeq, int max)
    {
        var rows = connection.Query(
            "SELECT seq, at_ms, kind, changeset, ddl, epoch FROM _changes WHERE seq > ? ORDER BY seq LIMIT " + max, afterSeq);
        var entries = new List<ReplicatedEntry>(rows.Count);
        var expected = afterSeq + 1;
        foreach (var row in rows)
        {
            if (row[0].AsInteger != expected)
            {
                // Pruned (or a gap left by a restore's jump): the tail cannot be shipped entry by entry.
                return entries.Count == 0 ? null : entries;
            }

            entries.Add(new ReplicatedEntry(
                row[0].AsInteger,
                row[1].AsInteger,
                (int)row[2].AsInteger,
                row[3].Kind == SqlValueKind.Blob ? row[3].AsBlob : null,
                row[4].Kind == SqlValueKind.Text ? row[4].AsText : null,
                row[5].AsInteger));
            expected++;
        }

        return entries;
    }

    /// <summary>The epoch of the entry at <paramref name="seq"/>, or null when the log does not hold it.</summary>
    public static long? EntryEpoch(ShardConnection connection, long seq) =>
        connection.Query("SELECT epoch FROM _changes WHERE seq = ?", seq) is [var row, ..] ? row[0].AsInteger : null;

    /// <summary>The engine's <c>_meta</c> rows every copy shares (sharding layout, operations).</summary>
    public static List<KeyValuePair<string, SqlValue>> ReadMeta(ShardConnection connection) =>
        connection.Query($"SELECT key, value FROM _meta WHERE key NOT IN ({LocalKeyList})")
            .Select(r => new KeyValuePair<string, SqlValue>(r[0].AsText, r[1]))
            .ToList();

    /// <summary>The highest epoch this copy has seen: the file's stamp or the fence file's, whichever is higher.</summary>
    public static long FileEpoch(ShardConnection connection) =>
        connection.ExecuteScalar("SELECT coalesce((SELECT value FROM _meta WHERE key = 'epoch'), 0)");

    /// <summary>This copy's status.</summary>
    public static ReplicaStatus Status(ShardConnection connection, long fence)
    {
        var seq = ChangeLog.CurrentSequence(connection);
        var last = connection.Query("SELECT seq, epoch FROM _changes ORDER BY seq DESC LIMIT 1") is [var row, ..] && row[0].AsInteger == seq
            ? row[1].AsInteger
            : -1;
        return new ReplicaStatus(true, Math.Max(FileEpoch(connection), fence), seq, last);
    }

    /// <summary>
    /// Applies <paramref name="batch"/> on a replica's connection (triggers and foreign keys off), outside a writer: each
    /// transaction begins and commits at once (tests; a replica applies through its <see cref="Writes.ShardWriter"/>).
    /// </summary>
    public static ReplicaApplyResult Apply(ShardConnection connection, ReplicaBatch batch, long fence) =>
        ApplyAsync(
            connection,
            batch,
            fence,
            () => { connection.Execute("BEGIN IMMEDIATE"); return ValueTask.CompletedTask; },
            () => { connection.Execute("COMMIT"); return ValueTask.CompletedTask; },
            applied: null).AsTask().GetAwaiter().GetResult();

    /// <summary>
    /// Applies <paramref name="batch"/> on a replica's connection (triggers and foreign keys off): entries already held
    /// are skipped, the first new one must follow the newest held, each is applied and logged as the primary logged it.
    /// Data entries run in one transaction; a DDL entry replays alone, as on the primary. Transactions begin and commit
    /// through <paramref name="begin"/> and <paramref name="commit"/> (the replica's writer: busy retry, its durability);
    /// <paramref name="applied"/> is told about each entry once its transaction committed.
    /// </summary>
    public static async ValueTask<ReplicaApplyResult> ApplyAsync(
        ShardConnection connection,
        ReplicaBatch batch,
        long fence,
        Func<ValueTask> begin,
        Func<ValueTask> commit,
        Action<ReplicatedEntry>? applied)
    {
        var epoch = Math.Max(FileEpoch(connection), fence);
        if (batch.Epoch < epoch)
        {
            return new ReplicaApplyResult(ReplicaApplyOutcome.StaleEpoch, ChangeLog.CurrentSequence(connection), epoch);
        }

        var index = 0;
        while (true)
        {
            await begin().ConfigureAwait(false);
            var committed = false;
            var first = index;
            try
            {
                // Again under the write lock: a promotion may have stamped a newer epoch into this very file.
                epoch = Math.Max(FileEpoch(connection), fence);
                var seq = ChangeLog.CurrentSequence(connection);
                if (batch.Epoch < epoch)
                {
                    return new ReplicaApplyResult(ReplicaApplyOutcome.StaleEpoch, seq, epoch);
                }

                while (index < batch.Entries.Count && batch.Entries[index].Seq <= seq)
                {
                    index++;
                }

                first = index;
                if (index < batch.Entries.Count && batch.Entries[index].Seq != seq + 1)
                {
                    return new ReplicaApplyResult(ReplicaApplyOutcome.Gap, seq, epoch);
                }

                var ddl = false;
                while (index < batch.Entries.Count)
                {
                    var entry = batch.Entries[index];
                    if (entry.Kind == (int)ChangeKind.Ddl)
                    {
                        ddl = true;
                        break;
                    }

                    if (entry.Kind != (int)ChangeKind.Data || entry.Changeset is null)
                    {
                        return new ReplicaApplyResult(ReplicaApplyOutcome.NeedsSeed, seq, epoch);
                    }

                    ShardStateBuilder.ApplyExactly(connection, entry.Changeset, entry.Seq);
                    Log(connection, entry);
                    seq = entry.Seq;
                    index++;
                }

                if (index == batch.Entries.Count)
                {
                    foreach (var key in batch.Keys)
                    {
                        connection.ExecuteInternal("INSERT OR REPLACE INTO _idempotency(key, at_ms, outcome) VALUES (?, ?, ?)", key.Key, key.AtMs, key.Outcome);
                    }

                    if (batch.Meta is { } meta)
                    {
                        connection.Execute($"DELETE FROM _meta WHERE key NOT IN ({LocalKeyList})");
                        foreach (var (key, value) in meta)
                        {
                            connection.ExecuteInternal("INSERT OR REPLACE INTO _meta(key, value) VALUES (?, ?)", key, value);
                        }
                    }
                }

                if (batch.Epoch > epoch)
                {
                    connection.ExecuteInternal("INSERT OR REPLACE INTO _meta(key, value) VALUES ('epoch', ?)", batch.Epoch);
                }

                await commit().ConfigureAwait(false);
                committed = true;
                Told(applied, batch, first, index);
                if (!ddl)
                {
                    return new ReplicaApplyResult(ReplicaApplyOutcome.Applied, seq, Math.Max(epoch, batch.Epoch));
                }
            }
            catch (ShardException)
            {
                // A conflict: this copy and the primary's disagree. Only a whole copy repairs it.
                return new ReplicaApplyResult(ReplicaApplyOutcome.NeedsSeed, ChangeLog.CurrentSequence(connection), epoch);
            }
            finally
            {
                if (!committed && SQLitePCL.raw.sqlite3_get_autocommit(connection.Db) == 0)
                {
                    connection.Execute("ROLLBACK");
                }
            }

            // A DDL entry, outside any transaction: replayed as the primary ran it, then logged.
            var schema = batch.Entries[index];
            try
            {
                ShardStateBuilder.ReplayDdl(
                    connection,
                    schema.Ddl ?? string.Empty,
                    schema.Changeset,
                    schema.Seq,
                    c => c.ExecuteInternal("INSERT OR REPLACE INTO _meta(key, value) VALUES (?, ?)", DdlPendingKey, schema.Seq));
                ShardStateBuilder.SetTriggers(connection, enabled: false);
                await begin().ConfigureAwait(false);
                Log(connection, schema);
                connection.ExecuteInternal("DELETE FROM _meta WHERE key = ?", DdlPendingKey);
                await commit().ConfigureAwait(false);
                Told(applied, batch, index, index + 1);
            }
            catch (ShardException)
            {
                if (SQLitePCL.raw.sqlite3_get_autocommit(connection.Db) == 0)
                {
                    connection.Execute("ROLLBACK");
                }

                return new ReplicaApplyResult(ReplicaApplyOutcome.NeedsSeed, ChangeLog.CurrentSequence(connection), epoch);
            }

            index++;
        }
    }

    private static void Told(Action<ReplicatedEntry>? applied, ReplicaBatch batch, int from, int to)
    {
        if (applied is null)
        {
            return;
        }

        for (var i = from; i < to; i++)
        {
            applied(batch.Entries[i]);
        }
    }

    private static void Log(ShardConnection connection, ReplicatedEntry entry) =>
        connection.ExecuteInternal(
            "INSERT INTO _changes(seq, at_ms, kind, changeset, ddl, epoch) VALUES (?, ?, ?, ?, ?, ?)",
            entry.Seq, entry.AtMs, entry.Kind, entry.Changeset, entry.Ddl, entry.Epoch);
}
