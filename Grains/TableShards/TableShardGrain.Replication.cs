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

        _replicator = new ShardReplicator(
            _shard, _paths, _options.DataDirectory, _epoch, replicas, _grains, () => _writerConnection, ClusterOptions.ReplicationTimeout,
            OnFenced, OnQuorumLost, _logger);
        _writer.Epoch = _epoch;
        _writer.Replication = _replicator;
        await _replicator.SyncAsync(_writer.Sequence);
        LogReplicated(_shard, _epoch, string.Join(",", replicas));
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
    /// On an activation placed on a replica's silo while the primary's silo is down: fences the copies at the next
    /// epoch, catches this copy up from the most advanced one and takes the shard over. False when no majority of the
    /// copies answered, or another silo changed the entry first.
    /// </summary>
    private async Task<bool> TryPromoteAsync(ShardOwner owner, ClusterView cluster)
    {
        var next = owner.Epoch + 1;
        var timeout = ClusterOptions.ReplicationTimeout;
        var self = _grains.GetGrain<IShardReplica>(ShardReplicaGrain.KeyOf(cluster.SelfName, _shard));
        var others = owner.Replicas.Where(r => !cluster.IsSelf(r)).ToList();
        var copies = owner.Replicas.Count + 1;

        var local = await self.FenceAsync(next);
        var answers = new List<(string Silo, IShardReplica Replica, ReplicaStatus Status)> { (cluster.SelfName, self, local) };
        var asked = others.Where(o => cluster.ActiveSilo(o) is not null)
            .Select(async o =>
            {
                var replica = _grains.GetGrain<IShardReplica>(ShardReplicaGrain.KeyOf(o, _shard));
                try
                {
                    return (o, replica, (ReplicaStatus?)await replica.FenceAsync(next).WaitAsync(timeout));
                }
                catch (Exception ex) when (ex is not OutOfMemoryException)
                {
                    LogPromotionPeerFailed(_shard, o, ex.Message);
                    return (o, replica, null);
                }
            });
        foreach (var (silo, replica, status) in await Task.WhenAll(asked))
        {
            if (status is not null)
            {
                answers.Add((silo, replica, status));
            }
        }

        if (answers.Count < copies / 2 + 1 || answers.Any(a => a.Status.Epoch > next))
        {
            LogPromotionRefused(_shard, answers.Count, copies);
            return false;
        }

        // The most advanced copy among those that answered holds every acknowledged commit (a majority held each).
        var best = answers.Where(a => a.Status.Exists).OrderByDescending(a => a.Status.LastEntryEpoch).ThenByDescending(a => a.Status.Seq).FirstOrDefault();
        if (best.Replica is null || !local.Exists)
        {
            return false;
        }

        var held = local.Seq;
        if (!cluster.IsSelf(best.Silo) && best.Status.Seq > held)
        {
            if (held > 0 && await best.Replica.EntryEpochAsync(held) != local.LastEntryEpoch)
            {
                // This copy's log went another way: the most advanced copy must promote itself.
                LogPromotionRefused(_shard, answers.Count, copies);
                return false;
            }

            while (held < best.Status.Seq)
            {
                var tail = await best.Replica.ReadTailAsync(held, 256);
                if (tail is not { Count: > 0 })
                {
                    return false;
                }

                var applied = await self.ApplyAsync(new ReplicaBatch(next, tail, [], null));
                if (applied.Outcome != ReplicaApplyOutcome.Applied)
                {
                    return false;
                }

                held = applied.Seq;
            }
        }

        var replicas = others.Append(owner.Primary).ToList();
        if (await Ownership.FailoverAsync(_shard, owner.Primary, owner.Epoch, cluster.SelfName, replicas) is null)
        {
            return false;
        }

        await self.ReleaseAsync();
        _promoted = true;
        LogPromoted(_shard, owner.Primary, next, held);
        return true;
    }

    /// <summary>True on the activation that promoted its replica: once open, it invalidates the table's cache entries.</summary>
    private bool _promoted;

    [LoggerMessage(Level = LogLevel.Information, Message = "Shard {Shard} at epoch {Epoch} replicates to silos {Replicas}")]
    private partial void LogReplicated(string shard, long epoch, string replicas);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Shard {Shard} is fenced: {Reason}")]
    private partial void LogReplicaFenced(string shard, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Shard {Shard} lost its majority: {Reason}")]
    private partial void LogQuorumLost(string shard, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Shard {Shard}: replica on silo {Silo} did not answer the promotion: {Reason}")]
    private partial void LogPromotionPeerFailed(string shard, string silo, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Shard {Shard}: promotion refused, {Answers} of {Copies} copies answered")]
    private partial void LogPromotionRefused(string shard, int answers, int copies);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Shard {Shard}: promoted here after primary {Old} was declared dead (epoch {Epoch}, commit {Sequence})")]
    private partial void LogPromoted(string shard, string old, long epoch, long sequence);
}
