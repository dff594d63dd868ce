using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OrleansShards.Grains.Operations;
using OrleansShards.Grains.Pitr;

namespace OrleansShards.Grains.TableShards;

internal sealed partial class TableShardGrain
{
    /// <summary>Interactive transactions a restore aborted (id → expiry), so their COMMIT says why it failed.</summary>

    public async Task<BookmarkResult> GetBookmarkAsync(BookmarkRequest request, CancellationToken cancellationToken = default)
    {
        try
        {
            ArgumentNullException.ThrowIfNull(request);
            if (request.At is not { } at)
            {
                return new BookmarkResult(BookmarkOf(_writer.Sequence));
            }

            if (at < _pitr.WindowStartMs())
            {
                throw new ShardException(ShardErrorCode.NotFound,
                    $"Time {at} is before the shard's retention window ({_pitrOptions.RetentionPeriod.TotalDays:0.##} days).");
            }

            long? sequence = null;
            await _writer.RunMaintenanceAsync(writer =>
            {
                if (ChangeLog.LatestAtOrBefore(writer, at) is { } found)
                {
                    sequence = found;
                }
                else if (writer.ExecuteScalar("SELECT coalesce(min(seq), 1) FROM _changes") <= 1)
                {
                    // Before the first commit: the empty initial state.
                    sequence = 0;
                }

                return Task.CompletedTask;
            });

            return sequence is { } s
                ? new BookmarkResult(BookmarkOf(s))
                : throw new ShardException(ShardErrorCode.NotFound, "That time is before the shard's retention window.");
        }
        catch (ShardException ex) when (CountError(ex))
        {
            throw;
        }
    }

    /// <summary>
    /// An exclusive turn: validates the bookmark, stops the writer and closes every connection, builds the
    /// bookmark's state in a new file (snapshot + replay), swaps it in crash-safely (see <see cref="ShardRestore"/>)
    /// and reopens. The restore is itself a commit (kind 2 in the log), so bookmarks keep increasing and the
    /// undo bookmark — the commit just before the restore — stays restorable.
    /// </summary>
    public async Task<RestoreResult> RestoreAsync(RestoreRequest request, CancellationToken cancellationToken = default)
    {
        try
        {
            ArgumentNullException.ThrowIfNull(request);
            var target = Bookmark.Parse(request.Bookmark, _tenant, _table).Sequence;
            if (!_pitrOptions.Enabled)
            {
                throw new ShardException(ShardErrorCode.InvalidArgument, "Point-in-time recovery is disabled on this silo (PitrOptions.Enabled is false).");
            }

            var current = _writer.Sequence;
            if (target > current)
            {
                throw new ShardException(ShardErrorCode.NotFound,
                    $"Bookmark {request.Bookmark} names commit {target}, but the shard's newest commit is {current} ({BookmarkOf(current)}).");
            }

            long floor = 0;
            await _writer.RunMaintenanceAsync(writer =>
            {
                floor = _pitr.RestorableFloor(writer);
                return Task.CompletedTask;
            });
            if (target < floor)
            {
                throw new ShardException(ShardErrorCode.NotFound,
                    $"Bookmark {request.Bookmark} is older than the retention window ({_pitrOptions.RetentionPeriod.TotalDays:0.##} days); " +
                    $"the oldest restorable bookmark is {BookmarkOf(floor)}.");
            }

            // The operation's record (GET /v1/operations/{id}) counts the restore's three steps: build, swap, announce.
            var run = await ServiceProvider.GetRequiredService<OperationTracker>()
                .StartAsync(request.OperationId, OperationKinds.Restore, _tenant, _shard, RestoreSteps);
            try
            {
                // Already the current state: nothing to swap, nothing to abort.
                var result = target == current
                    ? new RestoreResult(BookmarkOf(current), BookmarkOf(current))
                    : await RestoreToAsync(target, current, run);
                await run.CompleteAsync();
                return result with { OperationId = run.Id };
            }
            catch (Exception ex)
            {
                await run.FailAsync(ex);
                throw;
            }
        }
        catch (ShardException ex) when (CountError(ex))
        {
            throw;
        }
    }

    private const int RestoreSteps = 3;

    private async Task<RestoreResult> RestoreToAsync(long target, long current, OperationRun run)
    {
        await run.PhaseAsync("prepare", 0, RestoreSteps);
        var started = Stopwatch.GetTimestamp();
        var newSequence = current + 1;
        var atMs = TimeProvider.GetUtcNow().ToUnixTimeMilliseconds();
        var restore = new ShardRestore(_paths, _pitr.Snapshots, ServiceProvider.GetService<IRestoreStepObserver>());

        // Stop the writer (it drains queued work first), wait for a running snapshot, close every connection.
        await CloseStorageAsync();
        _transactions.AbortAll("a point-in-time restore of the shard");
        try
        {
            restore.Prepare(target, newSequence, atMs, _epoch);
        }
        catch (Exception ex)
        {
            restore.Discard(current);
            OpenStorage();
            LogRestoreFailed(ex, _shard, target);
            throw ex as ShardException
                ?? new ShardException(ShardErrorCode.Internal, "The restore failed before the swap; the shard is unchanged: " + ex.Message, ex);
        }

        Exception? swapError = null;
        await run.PhaseAsync("swap", 1, RestoreSteps);
        try
        {
            restore.Swap(newSequence, target);
        }
        catch (Exception ex)
        {
            swapError = ex;
        }
        finally
        {
            // Opening runs the crash recovery, which finishes a swap that failed after its marker was durable.
            OpenStorage();
        }

        if (_writer.Sequence != newSequence)
        {
            LogRestoreFailed(swapError, _shard, target);
            throw new ShardException(ShardErrorCode.Internal, "The restore could not be swapped in; the shard is unchanged: " + swapError?.Message, swapError);
        }

        await run.PhaseAsync("announce", 2, RestoreSteps);
        await _writer.AnnounceRestoreAsync(target, atMs);
        if (_replicator is { } replicator)
        {
            // Acknowledged like a write: only once a majority of the copies hold the restored file (each replica is
            // seeded with it now, not at the next commit), so that the primary's death right after the answer cannot
            // bring back the state from before the restore. No majority in time: UNAVAILABLE, and this activation
            // goes; the next one brings a majority up to this file before it serves.
            try
            {
                await replicator.SyncAsync(_writer.Sequence);
            }
            catch (ShardException ex) when (ex.Code == ShardErrorCode.Unavailable)
            {
                throw new ShardException(ShardErrorCode.Unavailable,
                    $"The restore to {BookmarkOf(target)} is not acknowledged: a majority of the shard's copies did not confirm it in time. " +
                    "Restoring to the same bookmark again gives the same state. " + ex.Message, ex);
            }
        }

        LogRestored(_shard, target, newSequence, restore.BaseSnapshot, restore.EntriesReplayed, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        return new RestoreResult(BookmarkOf(target), BookmarkOf(current));
    }

    [LoggerMessage(Level = LogLevel.Information,
        Message = "Shard {Shard} restored to sequence {Target} as commit {Sequence} (snapshot {Snapshot} + {Entries} log entries) in {ElapsedMs} ms")]
    private partial void LogRestored(string shard, long target, long sequence, long snapshot, int entries, double elapsedMs);

    [LoggerMessage(Level = LogLevel.Error, Message = "Restore of shard {Shard} to sequence {Target} failed")]
    private partial void LogRestoreFailed(Exception? exception, string shard, long target);
}
