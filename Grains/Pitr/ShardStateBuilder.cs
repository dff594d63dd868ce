using Microsoft.Data.Sqlite;
using OrleansShards.Grains.Storage;
using OrleansShards.Grains.Storage.Native;
using SQLitePCL;

namespace OrleansShards.Grains.Pitr;

/// <summary>
/// Builds, in a new file, the exact user-visible state of a shard right after one commit: the newest
/// snapshot at or before it, then the log entries after the snapshot replayed in order. Data entries
/// apply their changeset (triggers and foreign-key actions off: the changeset already holds what they
/// did); DDL entries run their SQL again (triggers and foreign keys on, as on the writer), and when the
/// re-run's changeset differs from the logged one (non-deterministic SQL) the data is reconciled to the
/// logged changeset. A restore entry means "the state of its target": the build jumps to that target
/// (each restore also writes a snapshot, so this is rare). Any replay conflict means the log and the
/// snapshot disagree: the build fails rather than produce an inexact state.
/// </summary>
internal sealed class ShardStateBuilder(SnapshotStore snapshots)
{
    private const int SqliteDbConfigEnableTrigger = 1003;
    private const int BatchSize = 512;

    /// <summary>Entries replayed by the last build.</summary>
    public int EntriesReplayed { get; private set; }

    /// <summary>The snapshot the last build started from (0 = the implicit empty one).</summary>
    public long BaseSnapshot { get; private set; }

    /// <summary>
    /// Writes the state after commit <paramref name="sequence"/> into <paramref name="targetPath"/> (which must
    /// not exist) reading the log through <paramref name="live"/>, and returns the open target connection
    /// (journal in memory, synchronous off: the caller syncs the file when done).
    /// </summary>
    public ShardConnection Build(ShardConnection live, string targetPath, long sequence)
    {
        // Walk back through restore entries: state(t) = state(restore target) + entries after the restore.
        var segments = new Stack<(long After, long Through)>();
        var through = sequence;
        while (true)
        {
            var snapshot = snapshots.NewestAtOrBefore(through);
            var restore = live.Query(
                "SELECT seq, restored_to FROM _changes WHERE kind = 2 AND seq > ? AND seq <= ? ORDER BY seq DESC LIMIT 1", snapshot, through);
            if (restore is [var entry, ..])
            {
                segments.Push((entry[0].AsInteger, through));
                through = entry[1].AsInteger;
                continue;
            }

            segments.Push((snapshot, through));
            BaseSnapshot = snapshot;
            break;
        }

        foreach (var (after, last) in segments)
        {
            var present = live.ExecuteScalar("SELECT count(*) FROM _changes WHERE seq > ? AND seq <= ?", after, last);
            if (present != last - after)
            {
                throw new ShardException(ShardErrorCode.Internal,
                    $"The change log misses {last - after - present} entries between commits {after} and {last}; cannot rebuild commit {sequence}.");
            }
        }

        if (BaseSnapshot > 0)
        {
            File.Copy(snapshots.PathOf(BaseSnapshot), targetPath);
        }

        var target = new ShardConnection(targetPath, readOnly: false, planCacheSize: 16);
        try
        {
            target.Execute("PRAGMA journal_mode = MEMORY; PRAGMA synchronous = OFF; PRAGMA foreign_keys = OFF;");
            ShardSchema.Migrate(target);
            EntriesReplayed = 0;
            while (segments.Count > 0)
            {
                var (after, last) = segments.Pop();
                Replay(live, target, after, last);
            }

            return target;
        }
        catch
        {
            target.Dispose();
            throw;
        }
    }

    private void Replay(ShardConnection live, ShardConnection target, long after, long through)
    {
        SetTriggers(target, enabled: false);
        var next = after;
        while (next < through)
        {
            var rows = live.Query(
                "SELECT seq, kind, changeset, ddl FROM _changes WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT " + BatchSize, next, through);
            target.Execute("BEGIN");
            foreach (var row in rows)
            {
                var seq = row[0].AsInteger;
                var changeset = row[2].Kind == SqlValueKind.Blob ? row[2].AsBlob : null;
                switch ((ChangeKind)row[1].AsInteger)
                {
                    case ChangeKind.Data:
                        if (changeset is null)
                        {
                            throw new ShardException(ShardErrorCode.Internal,
                                $"Commit {seq} has no changeset in the log (it was written while change capture was off); it cannot be replayed.");
                        }

                        ApplyExactly(target, changeset, seq);
                        break;
                    case ChangeKind.Ddl:
                        target.Execute("COMMIT");
                        ReplayDdl(target, row[3].AsText, changeset, seq);
                        target.Execute("BEGIN");
                        break;
                    default:
                        throw new ShardException(ShardErrorCode.Internal, $"Unexpected log entry kind {row[1].AsInteger} at commit {seq}.");
                }

                next = seq;
                EntriesReplayed++;
            }

            target.Execute("COMMIT");
        }
    }

    /// <summary>
    /// How long one DDL replay (a restore's, a replica's) may run before it is interrupted: 2 minutes, or 4 times the
    /// longest statement timeout a shard of this process was configured with (<see cref="AllowReplayFor"/>) when larger —
    /// a DDL that ran within the primary's timeout must be replayable.
    /// </summary>
    internal static TimeSpan ReplayTimeout => TimeSpan.FromTicks(Interlocked.Read(ref _replayTicks));

    private static long _replayTicks = TimeSpan.FromMinutes(2).Ticks;

    /// <summary>Raises <see cref="ReplayTimeout"/> to 4 × <paramref name="statementTimeout"/> when that is longer (never lowers it).</summary>
    internal static void AllowReplayFor(TimeSpan statementTimeout)
    {
        var wanted = statementTimeout >= TimeSpan.FromHours(6) ? TimeSpan.FromDays(1).Ticks : statementTimeout.Ticks * 4;
        long current;
        while ((current = Interlocked.Read(ref _replayTicks)) < wanted && Interlocked.CompareExchange(ref _replayTicks, wanted, current) != current)
        {
        }
    }

    /// <param name="inTransaction">Runs inside the DDL's own transaction, before it commits (a replica marks the copy as
    /// between a DDL and its log row there).</param>
    /// <param name="timeout">How long the re-run may take (<see cref="ReplayTimeout"/> unless given).</param>
    internal static void ReplayDdl(ShardConnection target, string sql, byte[]? logged, long seq, Action<ShardConnection>? inTransaction = null, TimeSpan? timeout = null)
    {
        // As on the writer: foreign keys enforced (DROP TABLE deletes through them), triggers fire.
        target.Execute("PRAGMA foreign_keys = ON");
        SetTriggers(target, enabled: true);
        byte[] replayed;
        target.Execute("BEGIN");
        try
        {
            // The SQL ran within the statement timeout on the primary, but a re-run may take another path (time functions
            // in a WHERE: a loop that ended then need not end now): bounded, so a replay never spins for ever.
            target.SetDeadline(timeout ?? ReplayTimeout);
            try
            {
                using (var session = SqliteSession.Create(target.Connection))
                {
                    target.Execute(sql);
                    replayed = session.GetChangeset();
                }
            }
            finally
            {
                target.ClearDeadline();
            }

            inTransaction?.Invoke(target);
            target.Execute("COMMIT");
        }
        catch (Exception ex) when (ex is ShardException or SqliteException)
        {
            if (raw.sqlite3_get_autocommit(target.Db) == 0)
            {
                target.Execute("ROLLBACK");
            }

            var code = ex is ShardException { Code: ShardErrorCode.Timeout } ? ShardErrorCode.Timeout : ShardErrorCode.Internal;
            throw new ShardException(code, $"DDL of commit {seq} did not replay: {ex.Message}", ex);
        }
        finally
        {
            target.Execute("PRAGMA foreign_keys = OFF");
            SetTriggers(target, enabled: false);
        }

        if (logged is null || logged.AsSpan().SequenceEqual(replayed))
        {
            return;
        }

        // The SQL did not reproduce the same rows (random(), time functions...): undo what the re-run
        // changed and apply what the original run changed, in the schema the DDL produced.
        target.Execute("BEGIN");
        if (replayed.Length > 0)
        {
            ApplyExactly(target, Changeset.Invert(replayed), seq);
        }

        ApplyExactly(target, logged, seq);
        target.Execute("COMMIT");
    }

    internal static void ApplyExactly(ShardConnection target, byte[] changeset, long seq)
    {
        if (changeset.Length == 0)
        {
            return;
        }

        ChangesetApplyResult result;
        try
        {
            result = Changeset.Apply(target.Connection, changeset, ChangesetConflictPolicy.Replay);
        }
        catch (SqliteException ex)
        {
            throw new ShardException(ShardErrorCode.Internal, $"The changeset of commit {seq} did not apply: {ex.Message}", ex);
        }

        if (result.Total != 0)
        {
            throw new ShardException(ShardErrorCode.Internal,
                $"Replay diverged at commit {seq} ({result.Total} conflicts: {result}); the log and the snapshot disagree, so the restore was refused.");
        }
    }

    internal static void SetTriggers(ShardConnection connection, bool enabled)
    {
        var rc = raw.sqlite3_db_config(connection.Db, SqliteDbConfigEnableTrigger, enabled ? 1 : 0, out _);
        if (rc != SqliteResultCodes.Ok)
        {
            throw connection.Failure(rc, "SQLITE_DBCONFIG_ENABLE_TRIGGER");
        }
    }
}
