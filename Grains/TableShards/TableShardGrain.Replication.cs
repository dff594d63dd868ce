using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OrleansShards.Grains.Cluster;
using OrleansShards.Grains.Replication;

namespace OrleansShards.Grains.TableShards;

/// <summary>
/// Replication in cluster mode (<c>Shards:Cluster:ReplicationFactor</c> copies, capped by the active silos). The
/// primary keeps its replicas' silo names in the ownership map and its writer acknowledges a commit only once a
/// majority of the copies hold it (<see cref="ShardReplicator"/>). When the primary's silo is declared dead, the next
/// call is placed on a live replica, which promotes itself: it fences every copy it can reach at the next epoch (a
/// fenced copy refuses the old primary's batches, so nothing more can be acknowledged there), needs a majority of
/// the copies to answer, catches up from the most advanced of them, and takes the shard over in the map
/// (compare-and-set). Every write a majority acknowledged is on at least one of the copies that answered.
/// </summary>
internal sealed partial class TableShardGrain
{
    private ShardReplicator? _replicator;

    /// <summary>Set when a commit could not reach a majority: this activation serves nothing more and goes.</summary>
    private volatile string? _quorumLost;

    private ShardClusterOptions ClusterOptions => ServiceProvider.GetRequiredService<IOptions<ShardClusterOptions>>().Value;

    /// <summary>
    /// After acquiring the shard: completes its replica set (up to the replication factor, on active silos that are not
    /// draining), installs the output gate on the writer and brings the replicas up to this copy (a majority must hold
    /// it before anything is served: a copy may carry commits a failed replication never confirmed).
    /// </summary>
    private async Task SetUpReplicationAsync(ShardOwner owner)
    {
        if (Cluster is not { } cluster || ClusterOptions.ReplicationFactor <= 1)
        {
            return;
        }

        var replicas = owner.Replicas.Where(r => !cluster.IsSelf(r)).ToList();
        var active = cluster.ActiveMembers().Select(m => m.Name).ToList();
        var wanted = Math.Min(ClusterOptions.ReplicationFactor, active.Count) - 1;
        if (replicas.Count < wanted)
        {
            var draining = await Ownership.DrainingAsync();
            var candidates = active.Where(n => !cluster.IsSelf(n) && !replicas.Contains(n) && !draining.Contains(n)).OrderBy(_ => Random.Shared.Next()).ToList();
            replicas.AddRange(candidates.Take(wanted - replicas.Count));
        }

        if (!replicas.SequenceEqual(owner.Replicas))
        {
            if (await Ownership.SetReplicasAsync(_shard, owner.Primary, owner.Epoch, replicas) is null)
            {
                throw new ShardException(ShardErrorCode.Unavailable, $"Shard {_shard} changed owner while it opened; retry.");
            }
        }

        if (replicas.Count == 0)
        {
            return;
        }

        _replicator = NewReplicator(replicas);
        _writer.Epoch = _epoch;
        _writer.Replication = _replicator;
        await _replicator.SyncAsync(_writer.Sequence);
        LogReplicated(_shard, _epoch, string.Join(",", replicas));
        StartRepairTimer();
    }

    private ShardReplicator NewReplicator(IReadOnlyList<string> replicas) => new(
        _shard, _paths, _options.DataDirectory, _epoch, replicas, _grains, () => _writerConnection, ClusterOptions.ReplicationTimeout,
        OnFenced, OnQuorumLost, _logger, IsActiveSilo);

    private IGrainTimer? _repairTimer;

    /// <summary>
    /// Every third of <see cref="ShardClusterOptions.ReplicaReplaceAfter"/> (1 s to 1 min): a replica whose silo is not an
    /// active member and that acknowledged nothing for that long is replaced by a new one elsewhere. The timer does not
    /// keep the shard active: a shard that is not open is repaired by its primary silo's <see cref="ReplicaRepair"/>.
    /// </summary>
    private void StartRepairTimer()
    {
        var after = ClusterOptions.ReplicaReplaceAfter;
        var period = TimeSpan.FromTicks(Math.Clamp(after.Ticks / 3, TimeSpan.TicksPerSecond, TimeSpan.TicksPerMinute));
        _repairTimer ??= this.RegisterGrainTimer(
            async ct =>
            {
                if (_replicator is not { } replicator || Cluster is not { } cluster || _moving || _fenced || _quorumLost is not null)
                {
                    return;
                }

                foreach (var silo in replicator.SilentFor(after).Where(s => cluster.ActiveSilo(s) is null))
                {
                    await _turns.EnterAsync(shared: true, ct);
                    try
                    {
                        LogReplacing(_shard, silo, after);
                        await ReplaceReplicaAsync(silo, ct);
                    }
                    catch (Exception ex) when (ex is not OutOfMemoryException)
                    {
                        LogRepairFailed(ex, _shard, silo);
                    }
                    finally
                    {
                        _turns.Exit(shared: true);
                    }
                }
            },
            new GrainTimerCreationOptions(period, period) { KeepAlive = false, Interleave = true });
    }

    public async Task<string?> ReplaceReplicaAsync(string silo, CancellationToken cancellationToken = default)
    {
        if (Cluster is not { } cluster || _replicator is not { } current || !current.Replicas.Contains(silo))
        {
            return null;
        }

        if (_moving)
        {
            throw new ShardException(ShardErrorCode.OperationInProgress, $"Shard {_shard} is moving or repairing; retry when that ended.");
        }

        _moving = true;
        try
        {
            var draining = await Ownership.DrainingAsync(cancellationToken);
            var candidate = cluster.ActiveMembers().Select(m => m.Name)
                .Where(n => !cluster.IsSelf(n) && !current.Replicas.Contains(n) && !draining.Contains(n))
                .OrderBy(_ => Random.Shared.Next())
                .FirstOrDefault()
                ?? throw new ShardException(ShardErrorCode.Unavailable, $"No active silo can take a replica of shard {_shard} in place of '{silo}'.");

            // Seeded and caught up while writes go on, then switched in between two transactions.
            var seeder = new ShardReplicator(
                _shard, _paths, _options.DataDirectory, _epoch, [candidate], _grains, () => _writerConnection, ClusterOptions.ReplicationTimeout,
                OnFenced, _ => { }, _logger, IsActiveSilo);
            await seeder.SyncAsync(_writer.Sequence);
            var replicas = current.Replicas.Select(r => r == silo ? candidate : r).ToList();
            await _writer.RunMaintenanceAsync(async _ =>
            {
                await seeder.SyncAsync(_writer.Sequence);
                if (await Ownership.SetReplicasAsync(_shard, cluster.SelfName, _epoch, replicas, cancellationToken) is null)
                {
                    throw new ShardException(ShardErrorCode.Unavailable, $"Shard {_shard} changed owner while a replica was replaced; nothing changed.");
                }

                _replicator = NewReplicator(replicas);
                _writer.Replication = _replicator;
            });

            try
            {
                if (!IsActiveSilo(silo))
                {
                    // Not called: Orleans would place the grain on another silo, where its activation fails.
                    throw new ShardException(ShardErrorCode.Unavailable, $"silo '{silo}' is not an active member of the cluster");
                }

                await _grains.GetGrain<IShardReplica>(ShardReplicaGrain.KeyOf(silo, _shard)).DropAsync(_epoch).WaitAsync(ClusterOptions.ReplicationTimeout, cancellationToken);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                // Gone or unreachable: its stale copy stays on its disk (it is no longer in the map), and is moved aside
                // when that silo starts again.
                LogDropFailed(_shard, silo, ex.Message);
            }

            LogReplaced(_shard, silo, candidate);
            return candidate;
        }
        finally
        {
            _moving = false;
        }
    }

    /// <summary>A replica has seen a newer primary: this activation commits nothing more and goes.</summary>
    private void OnFenced(string reason)
    {
        if (!_fenced)
        {
            _fenced = true;
            LogReplicaFenced(_shard, reason);
        }
    }

    /// <summary>A commit did not reach a majority: this activation may hold commits no majority confirmed, so it serves nothing more.</summary>
    private void OnQuorumLost(string reason)
    {
        if (_quorumLost is null)
        {
            _quorumLost = reason;
            LogQuorumLost(_shard, reason);
            GrainContext.Deactivate(new DeactivationReason(DeactivationReasonCode.ApplicationRequested, "A commit did not reach a majority of the shard's copies."), CancellationToken.None);
        }
    }

    /// <summary>
    /// On an activation placed on a replica's silo while the primary's silo is down: promotes this silo's copy
    /// (<see cref="ReplicaPromotion"/>). False when no majority of the copies answered, the copy diverged, or another
    /// silo changed the entry first.
    /// </summary>
    private async Task<bool> TryPromoteAsync(ShardOwner owner, ClusterView cluster)
    {
        var promotion = new ReplicaPromotion(
            _shard,
            cluster.SelfName,
            silo => cluster.ActiveSilo(silo) is not null,
            _grains,
            Ownership,
            ClusterOptions.ReplicationTimeout,
            _logger);
        if (await promotion.TryPromoteAsync(owner) is not { } held)
        {
            return false;
        }

        _promoted = true;
        LogPromoted(_shard, owner.Primary, owner.Epoch + 1, held);
        return true;
    }

    /// <summary>True on the activation that promoted its replica: once open, it invalidates the table's cache entries.</summary>
    private bool _promoted;

    [LoggerMessage(Level = LogLevel.Warning, Message = "Shard {Shard}: replacing the replica on silo {Silo}, gone for at least {After}")]
    private partial void LogReplacing(string shard, string silo, TimeSpan after);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Shard {Shard}: the replica on silo {Silo} could not be replaced")]
    private partial void LogRepairFailed(Exception exception, string shard, string silo);

    [LoggerMessage(Level = LogLevel.Information, Message = "Shard {Shard}: the old replica on silo {Silo} was not dropped: {Reason}")]
    private partial void LogDropFailed(string shard, string silo, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Shard {Shard}: replica on silo {Old} replaced by one on silo {New}")]
    private partial void LogReplaced(string shard, string old, string @new);

    [LoggerMessage(Level = LogLevel.Information, Message = "Shard {Shard} at epoch {Epoch} replicates to silos {Replicas}")]
    private partial void LogReplicated(string shard, long epoch, string replicas);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Shard {Shard} is fenced: {Reason}")]
    private partial void LogReplicaFenced(string shard, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Shard {Shard} lost its majority: {Reason}")]
    private partial void LogQuorumLost(string shard, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Shard {Shard}: promoted here after primary {Old} was declared dead (epoch {Epoch}, commit {Sequence})")]
    private partial void LogPromoted(string shard, string old, long epoch, long sequence);
}
