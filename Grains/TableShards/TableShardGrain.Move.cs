using System.Diagnostics;
using Microsoft.Extensions.Logging;
using OrleansShards.Grains.Cluster;
using OrleansShards.Grains.Replication;

namespace OrleansShards.Grains.TableShards;

/// <summary>
/// Online moves between silos (drain, rebalance), built on replication. While writes go on, the target silo's copy is
/// made a replica of this one: seeded with a whole consistent copy (SQLite's backup API) and the PITR snapshots,
/// then caught up from the change log (with the idempotency rows and the engine's rows). Then, holding the writer
/// between two transactions, the last entries are shipped, the ownership map hands the shard over (compare-and-set
/// on this activation's epoch, which rises), and this activation refuses every call with
/// <see cref="ShardMovedException"/> (resent by the caller to the new primary), deactivates and deletes its copy.
/// Writes wait only for that final step. A failure before the hand-over leaves the shard here, unchanged (the
/// target's partial copy is a replica file nothing reads).
/// </summary>
internal sealed partial class TableShardGrain : IShardMove
{
    /// <summary>The silo this shard moved to; set once the map names it.</summary>
    private volatile string? _movedTo;

    /// <summary>Set while a move runs (moves interleave with reads and writes; a second one is refused).</summary>
    private bool _moving;

    public async Task<MoveResult> MoveToAsync(string targetSilo, CancellationToken cancellationToken = default)
    {
        if (!Ownership.IsDistributed || Cluster is not { } cluster)
        {
            throw new ShardException(ShardErrorCode.InvalidArgument, "Moving a shard needs cluster mode (Shards:Cluster:Redis).");
        }

        if (cluster.IsSelf(targetSilo))
        {
            return new MoveResult(_shard, cluster.SelfName, targetSilo, _epoch, 0, 0);
        }

        if (cluster.ActiveSilo(targetSilo) is null)
        {
            throw new ShardException(ShardErrorCode.Unavailable, $"Silo '{targetSilo}' is not an active member of the cluster.");
        }

        if (_moving)
        {
            throw new ShardException(ShardErrorCode.OperationInProgress, $"Shard {_shard} is already moving; retry when that move ended.");
        }

        _moving = true;
        try
        {
            return await MoveAsync(cluster, targetSilo, cancellationToken);
        }
        finally
        {
            _moving = false;
        }
    }

    private async Task<MoveResult> MoveAsync(ClusterView cluster, string targetSilo, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var target = new ShardReplicator(
            _shard, _paths, _options.DataDirectory, _epoch, [targetSilo], _grains, () => _writerConnection, ClusterOptions.ReplicationTimeout,
            OnFenced, _ => { }, _logger, IsActiveSilo);

        // Bulk copy while writes go on: seed and catch up (a replica pipeline of its own).
        await target.SyncAsync(_writer.Sequence);

        // The target may be one of the shard's replicas already: its regular pipeline's sends in flight (a seed, rarely)
        // end before the switch, and again within it (held writer: nothing new is queued there), so that none of them
        // lands on the copy after the move's last sync.
        if (_replicator is { } replicator)
        {
            await IdleOrAbortAsync(replicator, targetSilo);
        }

        // The switch: between two transactions, with the writer held. Whatever committed since the catch-up is shipped,
        // then the map names the target; queued writes then fail with ShardMovedException and are resent there.
        _transactions.AbortAll($"the shard's move to silo '{targetSilo}'");
        ShardOwner? moved = null;
        var stall = 0.0;
        await _writer.RunMaintenanceAsync(async _ =>
        {
            var switchStarted = Stopwatch.GetTimestamp();
            if (_replicator is { } regular)
            {
                await IdleOrAbortAsync(regular, targetSilo);
            }

            await target.SyncAsync(_writer.Sequence);
            try
            {
                moved = await Ownership.TransferAsync(_shard, cluster.SelfName, targetSilo, _epoch, cancellationToken);
            }
            catch (ShardException ex) when (ex.Code == ShardErrorCode.Unavailable)
            {
                // The outcome is unknown: the script may have run after the call gave up waiting. Read the entry again:
                // unchanged → the move failed and this activation stays primary; the target named → the hand-over
                // happened; anything else, or no answer → this activation must not commit again (it may be superseded).
                ShardOwner? now = null;
                try
                {
                    now = await Ownership.GetAsync(_shard, cancellationToken);
                }
                catch (ShardException)
                {
                }

                if (now is not null && now.Primary == cluster.SelfName && now.Epoch == _epoch)
                {
                    throw;
                }

                if (now is null || now.Primary != targetSilo)
                {
                    OnQuorumLost($"the ownership map's answer to the hand-over to '{targetSilo}' was lost");
                    throw;
                }

                moved = now;
            }
            if (moved is not null)
            {
                // From here no write commits here: the fence refuses every transaction and calls are refused (moved).
                _movedTo = targetSilo;
                _primaryElsewhere = targetSilo;
                _refusal = $"Shard {_shard} has moved to silo '{targetSilo}'; retry.";

                // Nothing commits here any more: the invalidation publisher stops now rather than in the deactivation
                // the held writes wait for (an event in flight is awaited there). Events not delivered stay in the
                // outbox rows, which the target's copy holds: the new primary publishes them.
                _coherence.StopAsync().Ignore();

                // Deactivating from here on: Orleans queues the refused calls' resends (and every new call) until this
                // activation is gone, then places them anew on the target. Were this left until the move's call ends,
                // a resend arriving before would be refused again, and the caller's last resend answered UNAVAILABLE.
                this.DeactivateOnIdle();
            }

            stall = Stopwatch.GetElapsedTime(switchStarted).TotalMilliseconds;
        });

        if (moved is null)
        {
            throw new ShardException(ShardErrorCode.Unavailable, $"Shard {_shard} changed owner during the move; nothing was moved.");
        }

        // The target's replica lets go of the file for the new primary's activation there. Not awaited: writes wait for
        // this activation's end, and the release overlaps it; the new activation waits for the release before it opens
        // the file (ReleaseCopyHereAsync), and asks again if this one failed.
        var shard = _shard;
        _ = _grains.GetGrain<IShardReplica>(ShardReplicaGrain.KeyOf(targetSilo, _shard)).ReleaseAsync(moved.Epoch).ContinueWith(
            release => LogMoveAbortFailed(release.Exception!.GetBaseException(), shard, targetSilo),
            CancellationToken.None,
            TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);

        LogMoved(_shard, targetSilo, moved.Epoch, target.SeededBytes, stall, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        return new MoveResult(_shard, cluster.SelfName, targetSilo, moved.Epoch, target.SeededBytes, stall);
    }

    /// <summary>Waits (at most <c>ReplicationTimeout</c>: the switch holds the writer) for the regular pipeline to the target to be idle; else the move fails, the shard stays.</summary>
    private async Task IdleOrAbortAsync(ShardReplicator replicator, string targetSilo)
    {
        try
        {
            await replicator.IdleAsync(targetSilo).WaitAsync(ClusterOptions.ReplicationTimeout);
        }
        catch (TimeoutException)
        {
            throw new ShardException(ShardErrorCode.Unavailable, $"Shard {_shard}: its replica on silo '{targetSilo}' is still being sent earlier work; the move was not made, retry.");
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Shard {Shard} moved to silo {Target} at epoch {Epoch}: {Bytes} bytes seeded, writes waited {StallMs:0.0} ms of {TotalMs:0} ms")]
    private partial void LogMoved(string shard, string target, long epoch, long bytes, double stallMs, double totalMs);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Shard {Shard}: the replica on silo {Target} did not let go of the moved file (the new primary's activation asks it again)")]
    private partial void LogMoveAbortFailed(Exception exception, string shard, string target);
}
