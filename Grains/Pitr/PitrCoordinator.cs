using Microsoft.Extensions.Logging;
using OrleansShards.Grains.Storage;

namespace OrleansShards.Grains.Pitr;

/// <summary>
/// The change-log side of one shard activation: schedules snapshots (every
/// <see cref="PitrOptions.SnapshotEveryCommits"/> commits once <see cref="PitrOptions.SnapshotLogFraction"/> of the
/// shard's size was logged, in the background on a connection of their own, or after
/// <see cref="PitrOptions.SnapshotInterval"/>), prunes the log and snapshots outside the retention window, and says
/// which sequences are still restorable.
/// </summary>
internal sealed partial class PitrCoordinator
{
    private readonly ShardPaths _paths;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private Task _pending = Task.CompletedTask;

    /// <summary>Canceled when the shard's copy here is being retired: running and queued snapshots stop.</summary>
    private readonly CancellationTokenSource _abandon = new();
    private long _lastSnapshot;
    private DateTimeOffset _lastSnapshotAt;

    /// <summary>
    /// The writer's <c>LoggedBytes</c> as of the newest snapshot: the bytes logged since are that count minus this
    /// (negative at open, by the size of the log earlier activations wrote after the snapshot).
    /// </summary>
    private long _loggedAtSnapshot;

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

    /// <summary>
    /// Called when the shard file opened at <paramref name="currentSequence"/> (with <paramref name="writer"/>, before
    /// it takes work): drops leftovers of interrupted work and picks up the schedule where earlier activations left it.
    /// </summary>
    public void Open(ShardConnection writer, long currentSequence)
    {
        Snapshots.DeleteTemporaries();
        var orphans = Snapshots.DeleteNewerThan(currentSequence);
        if (orphans > 0)
        {
            LogOrphansDeleted(_paths.Database, orphans);
        }

        var last = Snapshots.NewestAtOrBefore(currentSequence);
        Volatile.Write(ref _lastSnapshot, last);
        Volatile.Write(ref _loggedAtSnapshot, -ChangeLog.ChangesetBytesAfter(writer, last, currentSequence));

        // The snapshot's own commit time (for none, the first commit's): a shard restarted more often than
        // SnapshotInterval still snapshots by time, and so can still prune its log.
        _lastSnapshotAt = ChangeLog.AtMsFrom(writer, last) is { } atMs
            ? DateTimeOffset.FromUnixTimeMilliseconds(atMs)
            : _time.GetUtcNow();
    }

    /// <summary>
    /// After each commit (on the writer's loop): starts a background snapshot when one is due by count.
    /// <paramref name="loggedBytes"/> is the writer's <c>LoggedBytes</c>; <paramref name="usedBytes"/> the shard's used pages in bytes.
    /// </summary>
    public void OnCommitted(long sequence, long loggedBytes, long usedBytes)
    {
        if (Options.Enabled && DueByCount(sequence, loggedBytes, usedBytes))
        {
            StartSnapshot(onlyIfIdle: true, loggedBytes);
        }
    }

    /// <summary>Waits for a running snapshot, then takes one if due by count or time, and waits for it.</summary>
    public async Task SnapshotIfDueAsync(long sequence, long loggedBytes, long usedBytes)
    {
        await WaitForSnapshotAsync().ConfigureAwait(false);
        if (!Options.Enabled || sequence <= LastSnapshot)
        {
            return;
        }

        if (DueByCount(sequence, loggedBytes, usedBytes) || _time.GetUtcNow() - _lastSnapshotAt >= Options.SnapshotInterval)
        {
            StartSnapshot(onlyIfIdle: false, loggedBytes);
            await WaitForSnapshotAsync().ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Starts a snapshot in the background when one is due by count or by time and none is running, without waiting for
    /// it: a replica's maintenance, which must not hold the copy's applies (and so its acknowledgements) for a whole copy.
    /// </summary>
    public void StartIfDue(long sequence, long loggedBytes, long usedBytes)
    {
        if (Options.Enabled
            && sequence > LastSnapshot
            && (DueByCount(sequence, loggedBytes, usedBytes) || _time.GetUtcNow() - _lastSnapshotAt >= Options.SnapshotInterval))
        {
            StartSnapshot(onlyIfIdle: true, loggedBytes);
        }
    }

    /// <summary>
    /// Enough commits since the newest snapshot, and enough logged bytes for the copy to be worth it: a snapshot reads
    /// the whole file, so it waits for <see cref="PitrOptions.SnapshotLogFraction"/> of the used size to be logged.
    /// </summary>
    private bool DueByCount(long sequence, long loggedBytes, long usedBytes) =>
        sequence - LastSnapshot >= Options.SnapshotEveryCommits
        && loggedBytes - Volatile.Read(ref _loggedAtSnapshot) >= Options.SnapshotLogFraction * usedBytes;

    /// <summary>
    /// After a DDL commit: <c>CREATE TABLE … AS SELECT</c> writes its rows without the session seeing them,
    /// so its data is not in the changeset and re-running it may not reproduce it (random(), time). Such a
    /// commit gets a snapshot of its own, taken before the exclusive DDL turn ends: a replay then starts at or
    /// after it and never re-runs it.
    /// </summary>
    public async Task AfterDdlAsync(string sql, long sequence, long loggedBytes)
    {
        if (Options.Enabled && CreatesRowsUnseen(sql) && sequence > LastSnapshot)
        {
            await WaitForSnapshotAsync().ConfigureAwait(false);
            StartSnapshot(onlyIfIdle: false, loggedBytes);
            await WaitForSnapshotAsync().ConfigureAwait(false);
        }
    }

    private static bool CreatesRowsUnseen(string sql) => CreateTableAsSelect().IsMatch(sql);

    [System.Text.RegularExpressions.GeneratedRegex(@"\bAS\s*\(?\s*(SELECT|WITH|VALUES)\b", System.Text.RegularExpressions.RegexOptions.IgnoreCase | System.Text.RegularExpressions.RegexOptions.CultureInvariant)]
    private static partial System.Text.RegularExpressions.Regex CreateTableAsSelect();

    /// <summary>
    /// Stops a running snapshot and every later one: the file is about to be deleted (the shard moved to another silo),
    /// so closing it need not wait for a whole copy nothing will read.
    /// </summary>
    public void AbandonSnapshots() => _abandon.Cancel();

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
        if (ChangeLog.LatestAtOrBefore(connection, windowStart) is { } floor)
        {
            return floor;
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

    /// <summary>
    /// Starts a snapshot (after a running one, unless <paramref name="onlyIfIdle"/>). <paramref name="loggedBytes"/>, when
    /// known, is the writer's count now: the snapshot reflects at least that much of the log.
    /// </summary>
    private void StartSnapshot(bool onlyIfIdle, long? loggedBytes)
    {
        lock (_gate)
        {
            if (!_pending.IsCompleted)
            {
                if (onlyIfIdle)
                {
                    return;
                }

                _pending = _pending.ContinueWith(_ => TakeSnapshot(loggedBytes), CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
                return;
            }

            using (ExecutionContext.SuppressFlow())
            {
                _pending = Task.Run(() => TakeSnapshot(loggedBytes));
            }
        }
    }

    private void TakeSnapshot(long? loggedBytes)
    {
        try
        {
            if (_abandon.IsCancellationRequested)
            {
                return;
            }

            var sequence = Snapshots.WriteFromDatabase(_paths.Database, _abandon.Token);
            if (sequence > LastSnapshot)
            {
                Volatile.Write(ref _lastSnapshot, sequence);
                if (loggedBytes is { } logged && logged > Volatile.Read(ref _loggedAtSnapshot))
                {
                    Volatile.Write(ref _loggedAtSnapshot, logged);
                }
            }

            _lastSnapshotAt = _time.GetUtcNow();
            LogSnapshotTaken(_paths.Database, sequence);
        }
        catch (Exception ex) when (!_abandon.IsCancellationRequested)
        {
            LogSnapshotFailed(ex, _paths.Database);
        }
        catch (Exception)
        {
            // Abandoned (the copy is being retired): nothing to report.
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
