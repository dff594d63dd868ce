using Microsoft.Extensions.Logging;
using OrleansShards.Grains.Cluster;

namespace OrleansShards.Grains.Replication;

/// <summary>
/// A replica taking a shard over after its primary's silo was declared dead (run by the shard's activation placed on the
/// replica's silo, before it opens the file). It fences every copy it can reach at the next epoch (a fenced copy refuses
/// the old primary's batches, so nothing more can be acknowledged there), needs a majority of the copies to answer,
/// catches its copy up from the most advanced answering copy — every write a majority acknowledged is on at least one of
/// them — and takes the shard over in the ownership map (compare-and-set on the old primary and epoch). When its own
/// log went another way than the most advanced copy's, it refuses and puts that copy first among the replicas, where
/// the next placement looks: taking over would re-seed the others from a copy missing what they acknowledged.
/// </summary>
internal sealed partial class ReplicaPromotion(
    string shard,
    string self,
    Func<string, bool> isActive,
    IGrainFactory grains,
    IShardOwnership ownership,
    TimeSpan timeout,
    ILogger logger)
{
    private readonly ILogger _logger = logger;

    /// <summary>
    /// Promotes this silo's copy of the shard <paramref name="owner"/> describes. Returns the sequence the copy holds as
    /// the new primary (epoch <c>owner.Epoch + 1</c>, its replica released for the primary's activation), or null when it
    /// must not: too few copies answered, a newer epoch exists, the copy diverged, or another silo changed the entry first.
    /// </summary>
    public async Task<long?> TryPromoteAsync(ShardOwner owner)
    {
        var next = owner.Epoch + 1;
        var local = grains.GetGrain<IShardReplica>(ShardReplicaGrain.KeyOf(self, shard));
        var others = owner.Replicas.Where(r => r != self).ToList();
        var copies = owner.Replicas.Count + 1;

        var localStatus = await local.FenceAsync(next).ConfigureAwait(false);
        var answers = new List<(string Silo, IShardReplica Replica, ReplicaStatus Status)> { (self, local, localStatus) };
        var asked = others.Where(isActive)
            .Select(async o =>
            {
                var replica = grains.GetGrain<IShardReplica>(ShardReplicaGrain.KeyOf(o, shard));
                try
                {
                    return (o, replica, (ReplicaStatus?)await replica.FenceAsync(next).WaitAsync(timeout).ConfigureAwait(false));
                }
                catch (Exception ex) when (ex is not OutOfMemoryException)
                {
                    LogPromotionPeerFailed(shard, o, ex.Message);
                    return (o, replica, null);
                }
            });
        foreach (var (silo, replica, status) in await Task.WhenAll(asked).ConfigureAwait(false))
        {
            if (status is not null)
            {
                answers.Add((silo, replica, status));
            }
        }

        if (answers.Count < copies / 2 + 1 || answers.Any(a => a.Status.Epoch > next))
        {
            LogPromotionRefused(shard, answers.Count, copies);
            return null;
        }

        // The most advanced copy among those that answered holds every acknowledged commit (a majority held each).
        var best = answers.Where(a => a.Status.Exists).OrderByDescending(a => a.Status.LastEntryEpoch).ThenByDescending(a => a.Status.Seq).FirstOrDefault();
        if (best.Replica is null)
        {
            return null;
        }

        if (!localStatus.Exists)
        {
            // No copy here (a replica named in the map before its seed arrived): the most advanced copy must take over.
            await PutFirstAsync(owner, best.Silo).ConfigureAwait(false);
            return null;
        }

        var held = localStatus.Seq;
        var behind = best.Silo != self
            && (best.Status.LastEntryEpoch > localStatus.LastEntryEpoch || (best.Status.LastEntryEpoch == localStatus.LastEntryEpoch && best.Status.Seq > held));
        if (behind && (best.Status.Seq <= held || (held > 0 && await best.Replica.EntryEpochAsync(held).ConfigureAwait(false) != localStatus.LastEntryEpoch)))
        {
            // This copy's log went another way (entries of an older primary no majority confirmed, perhaps as many as the
            // best copy holds): taking over from it would re-seed the others from it and lose what they acknowledged. The
            // most advanced copy must promote itself: it is put first among the replicas, where the next placement looks.
            LogDiverged(shard, best.Silo);
            await PutFirstAsync(owner, best.Silo).ConfigureAwait(false);
            return null;
        }

        if (behind)
        {
            while (held < best.Status.Seq)
            {
                var tail = await best.Replica.ReadTailAsync(held, 256).ConfigureAwait(false);
                if (tail is not { Count: > 0 })
                {
                    // The most advanced copy's log no longer holds what this one lacks (pruned): it must take over.
                    await PutFirstAsync(owner, best.Silo).ConfigureAwait(false);
                    return null;
                }

                var applied = await local.ApplyAsync(new ReplicaBatch(next, tail, [], null)).ConfigureAwait(false);
                if (applied.Outcome != ReplicaApplyOutcome.Applied)
                {
                    await PutFirstAsync(owner, best.Silo).ConfigureAwait(false);
                    return null;
                }

                held = applied.Seq;
            }

            // Idempotency rows and engine _meta rows are not in the log: without the keys of the commits just taken, a
            // caller retrying one of them with its key would run it a second time here.
            if (await best.Replica.ReadStateAsync().ConfigureAwait(false) is not { } state
                || (await local.ApplyAsync(new ReplicaBatch(next, [], state.Keys, state.Meta)).ConfigureAwait(false)).Outcome != ReplicaApplyOutcome.Applied)
            {
                return null;
            }
        }

        var replicas = others.Append(owner.Primary).ToList();
        if (await ownership.FailoverAsync(shard, owner.Primary, owner.Epoch, self, replicas).ConfigureAwait(false) is null)
        {
            return null;
        }

        await local.ReleaseAsync(next).ConfigureAwait(false);
        return held;
    }

    /// <summary>
    /// Puts <paramref name="silo"/>'s copy first among the shard's replicas, where the next placement looks (a refusing
    /// activation goes after a short while, and the next call is placed there): without it every retry came back to a
    /// copy that cannot take over, and the shard stayed unavailable until the old primary returned.
    /// </summary>
    private async Task PutFirstAsync(ShardOwner owner, string silo)
    {
        if (owner.Replicas is [var first, ..] && first == silo)
        {
            return;
        }

        try
        {
            await ownership.SetReplicasAsync(shard, owner.Primary, owner.Epoch, owner.Replicas.Where(r => r != silo).Prepend(silo).ToList()).ConfigureAwait(false);
        }
        catch (ShardException)
        {
            // The map is unreachable: the next placement tries this copy again, and it refuses again.
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Shard {Shard}: replica on silo {Silo} did not answer the promotion: {Reason}")]
    private partial void LogPromotionPeerFailed(string shard, string silo, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Shard {Shard}: promotion refused, {Answers} of {Copies} copies answered")]
    private partial void LogPromotionRefused(string shard, int answers, int copies);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Shard {Shard}: promotion refused, this copy's log diverged from the most advanced copy's (on silo {Best}), which is put first among the replicas")]
    private partial void LogDiverged(string shard, string best);
}
