using Microsoft.Extensions.Logging;
using OrleansShards.Grains.Storage;

namespace OrleansShards.Grains.Pitr;

/// <summary>
/// The change-log side of one shard activation: schedules snapshots (every
/// <see cref="PitrOptions.SnapshotEveryCommits"/> commits, in the background on a connection of their own,
/// or after <see cref="PitrOptions.SnapshotInterval"/>), prunes the log and snapshots outside the
/// retention window, and says which sequences are still restorable.
/// </summary>
internal sealed partial class PitrCoordinator
{
    private readonly ShardPaths _paths;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private Task _pending = Task.CompletedTask;
    private long _lastSnapshot;
    private DateTimeOffset _lastSnapshotAt;

    public PitrCoordinator(PitrOptions options, ShardPaths paths, TimeProvider time, ILogger logger)
    {
        Options = options;
        _paths = paths;
        _time = time;
        _logger = logger;
        Snapshots = new SnapshotStore(paths.Snapshots);
    }

    public PitrOptions Options { get; }

    public SnapshotStore Snapshots { get; }

    /// <summary>Sequence of the newest snapshot (0 = none).</summary>
    public long LastSnapshot => Volatile.Read(ref _lastSnapshot);

    /// <summary>Called when the shard file opened at <paramref name="currentSequence"/>: drops leftovers of interrupted work.</summary>
    public void Open(long currentSequence)
    {
        Snapshots.DeleteTemporaries();
        var orphans = Snapshots.DeleteNewerThan(currentSequence);
        if (orphans > 0)
        {
            LogOrphansDeleted(_paths.Database, orphans);
        }

        Volatile.Write(ref _lastSnapshot, Snapshots.NewestAtOrBefore(currentSequence));
        _lastSnapshotAt = _time.GetUtcNow();
    }

    /// <summary>After each commit (on the writer's loop): starts a background snapshot when one is due by count.</summary>
    public void OnCommitted(long sequence)
    {
        if (Options.Enabled && sequence - LastSnapshot >= Options.SnapshotEveryCommits)
        {
            StartSnapshot(onlyIfIdle: true);
        }
    }

    /// <summary>Waits for a running snapshot, then takes one if due by count or time, and waits for it.</summary>
    public async Task SnapshotIfDueAsync(long sequence)
    {
        await WaitForSnapshotAsync().ConfigureAwait(false);
        if (!Options.Enabled || sequence <= LastSnapshot)
        {
            return;
        }

        if (sequence - LastSnapshot >= Options.SnapshotEveryCommits || _time.GetUtcNow() - _lastSnapshotAt >= Options.SnapshotInterval)
        {
            StartSnapshot(onlyIfIdle: false);
            await WaitForSnapshotAsync().ConfigureAwait(false);
        }
    }

    /// <summary>
    /// After a DDL commit: <c>CREATE TABLE … AS SELECT</c> writes its rows without the session seeing them,
    /// so its data is not in the changeset and re-running it may not reproduce it (random(), time). Such a
    /// commit gets a snapshot of its own, taken before the exclusive DDL turn ends: a replay then starts at or
    /// after it and never re-runs it.
    /// </summary>
    public async Task AfterDdlAsync(string sql, long sequence)
    {
        if (Options.Enabled && CreatesRowsUnseen(sql) && sequence > LastSnapshot)
        {
            await WaitForSnapshotAsync().ConfigureAwait(false);
            StartSnapshot(onlyIfIdle: false);
            await WaitForSnapshotAsync().ConfigureAwait(false);
        }
    }

    private static bool CreatesRowsUnseen(string sql) => CreateTableAsSelect().IsMatch(sql);

    [System.Text.RegularExpressions.GeneratedRegex(@"\bAS\s*\(?\s*(SELECT|WITH|VALUES)\b", System.Text.RegularExpressions.RegexOptions.IgnoreCase | System.Text.RegularExpressions.RegexOptions.CultureInvariant)]
    private static partial System.Text.RegularExpressions.Regex CreateTableAsSelect();

    /// <summary>Completes when no snapshot is being written (failures were logged, not thrown).</summary>
    public Task WaitForSnapshotAsync()
    {
        lock (_gate)
        {
            return _pending;
        }
    }

    /// <summary>
    /// The oldest restorable sequence: the newest commit at or before the start of the retention window
    /// (the state the window starts with), or 0 when the log still starts at commit 1.
    /// </summary>
    public long RestorableFloor(ShardConnection connection)
    {
        var windowStart = WindowStartMs();
        var rows = connection.Query("SELECT max(seq) FROM _changes WHERE at_ms <= ?", windowStart);
        if (rows is [var row, ..] && row[0].Kind == SqlValueKind.Integer)
        {
            return row[0].AsInteger;
        }

        var oldest = connection.ExecuteScalar("SELECT coalesce(min(seq), 0) FROM _changes");
        return oldest <= 1 ? 0 : oldest;
    }

    /// <summary>Start of the retention window, Unix ms.</summary>
    public long WindowStartMs() => (_time.GetUtcNow() - Options.RetentionPeriod).ToUnixTimeMilliseconds();

    /// <summary>
    /// Deletes what no restorable point needs: log rows before, and snapshots older than, the newest
    /// snapshot at or before the restorable floor (that snapshot's own row stays as the time anchor of
    /// <c>GetBookmark(at)</c>). Runs on the writer between transactions.
    /// </summary>
    public (long Rows, int Snapshots) Prune(ShardConnection writer)
    {
        var keep = Snapshots.NewestAtOrBefore(RestorableFloor(writer));
        if (keep == 0)
        {
            // Only the implicit empty snapshot is old enough: the whole log is still needed.
            return (0, 0);
        }

        writer.Execute("BEGIN IMMEDIATE");
        long rows;
        try
        {
            rows = writer.ExecuteInternal("DELETE FROM _changes WHERE seq < ?", keep);
            writer.Execute("COMMIT");
        }
        catch
        {
            writer.Execute("ROLLBACK");
            throw;
        }

        var deleted = Snapshots.DeleteOlderThan(keep);
        if (rows > 0 || deleted > 0)
        {
            LogPruned(_paths.Database, rows, deleted, keep);
        }

        return (rows, deleted);
    }

    private void StartSnapshot(bool onlyIfIdle)
    {
        lock (_gate)
        {
            if (!_pending.IsCompleted)
            {
                if (onlyIfIdle)
                {
                    return;
                }

                _pending = _pending.ContinueWith(_ => TakeSnapshot(), CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
                return;
            }

            using (ExecutionContext.SuppressFlow())
            {
                _pending = Task.Run(TakeSnapshot);
            }
        }
    }

    private void TakeSnapshot()
    {
        try
        {
            var sequence = Snapshots.WriteFromDatabase(_paths.Database);
            if (sequence > LastSnapshot)
            {
                Volatile.Write(ref _lastSnapshot, sequence);
            }

            _lastSnapshotAt = _time.GetUtcNow();
            LogSnapshotTaken(_paths.Database, sequence);
        }
        catch (Exception ex)
        {
            LogSnapshotFailed(ex, _paths.Database);
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Snapshot of {Database} at sequence {Sequence} written")]
    private partial void LogSnapshotTaken(string database, long sequence);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Snapshot of {Database} failed; the next commit or capacity check retries")]
    private partial void LogSnapshotFailed(Exception exception, string database);

    [LoggerMessage(Level = LogLevel.Information, Message = "Pruned {Database}: {Rows} log rows and {Snapshots} snapshots before sequence {Keep}")]
    private partial void LogPruned(string database, long rows, int snapshots, long keep);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Deleted {Count} snapshots of {Database} newer than its sequence (left by an interrupted restore)")]
    private partial void LogOrphansDeleted(string database, int count);
}
