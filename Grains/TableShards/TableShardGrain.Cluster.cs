using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OrleansShards.Grains.Cluster;
using OrleansShards.Grains.Replication;
using OrleansShards.Grains.Writes;

namespace OrleansShards.Grains.TableShards;

/// <summary>
/// Ownership in cluster mode. An activation opens the shard's file only on the silo the ownership map names as
/// primary; it then acquires the shard (the epoch rises, compare-and-set in the map) and stamps the new epoch into
/// the file. Every commit checks, inside its transaction, that the file still carries this activation's epoch: an
/// older activation of the same file (a frozen process resumed after a newer one took the file over) can never
/// commit. An activation placed anywhere else opens nothing: when the primary's silo is up it deactivates at once
/// and Orleans sends the waiting calls on to a new placement, which the director puts on the primary's silo; when it
/// is down, calls answer <c>UNAVAILABLE</c> (retryable) until it is back.
/// </summary>
internal sealed partial class TableShardGrain
{
    /// <summary>The epoch this activation acquired; 0 in the embedded silo, which keeps no epochs.</summary>
    private long _epoch;

    /// <summary>Why this activation serves nothing (not on the primary's silo, or fenced); null when it is the primary.</summary>
    private volatile string? _refusal;

    /// <summary>The primary named by the map when this activation is elsewhere.</summary>
    private string? _primaryElsewhere;

    /// <summary>When this activation started refusing (<see cref="Environment.TickCount64"/>).</summary>
    private long _refusedAt;

    /// <summary>How long an activation refusing for an unreachable primary stays before it goes, so that a later call tries the takeover again.</summary>
    internal static readonly TimeSpan PromotionRetry = TimeSpan.FromSeconds(2);

    /// <summary>True once a newer epoch was found in the file: nothing more is written, the activation goes.</summary>
    private volatile bool _fenced;

    private ClusterView? _clusterView;
    private IShardOwnership? _ownership;

    private IShardOwnership Ownership => _ownership ??= ServiceProvider.GetRequiredService<IShardOwnership>();

    private ClusterView? Cluster => _clusterView ??= ServiceProvider.GetService<ClusterView>();

    /// <summary>True when the silo named <paramref name="silo"/> is an active member (always, outside a cluster); any thread.</summary>
    private bool IsActiveSilo(string silo) => Cluster is not { } view || view.ActiveSilo(silo) is not null;

    /// <summary>
    /// Before the file is opened: true when this silo may open it (embedded, or the map names this silo or no one).
    /// Otherwise the activation refuses (see <see cref="Refuse"/>).
    /// </summary>
    private async Task<bool> MayOpenAsync()
    {
        if (!Ownership.IsDistributed || Cluster is not { } cluster)
        {
            return true;
        }

        var owner = await Ownership.GetAsync(_shard);
        if (owner is null || cluster.IsSelf(owner.Primary))
        {
            _mapEpoch = owner?.Epoch ?? 0;
            return true;
        }

        // The primary's silo is down and this one holds a replica: take the shard over (TableShardGrain.Replication).
        if (cluster.ActiveSilo(owner.Primary) is null && owner.Replicas.Any(cluster.IsSelf) && await TryPromoteAsync(owner, cluster))
        {
            return true;
        }

        Refuse(owner.Primary);
        return false;
    }

    /// <summary>The map's epoch of the shard when this activation found itself named primary (0: no entry).</summary>
    private long _mapEpoch;

    /// <summary>
    /// Before the file is opened as the primary's: a replica grain of this shard on this silo holding the same file (the
    /// target of a move, which the moved-away primary asked to let go without waiting) lets go of it first, its fence
    /// raised to the map's epoch. Nothing to wait for when it holds no file (the usual case once a move's release ran).
    /// </summary>
    private async Task ReleaseCopyHereAsync()
    {
        if (!Ownership.IsDistributed || Cluster is not { } cluster)
        {
            return;
        }

        var replica = ShardReplicaGrain.KeyOf(cluster.SelfName, _shard);
        if (_files.FilesHeldBy(replica) > 0)
        {
            await _grains.GetGrain<IShardReplica>(replica).ReleaseAsync(_mapEpoch);
        }
    }

    /// <summary>
    /// After the file is opened on a silo allowed to: acquires the shard in the map (epoch above the map's and the
    /// file's) and stamps the epoch into the file. False when another silo won the shard meanwhile.
    /// </summary>
    private async Task<bool> AcquireAsync()
    {
        if (!Ownership.IsDistributed || Cluster is not { } cluster)
        {
            return true;
        }

        var fileEpoch = ReadFileEpoch(_writerConnection);
        var owner = await Ownership.ClaimAsync(_shard, cluster.SelfName, fileEpoch);
        if (!cluster.IsSelf(owner.Primary))
        {
            Refuse(owner.Primary);
            return false;
        }

        StampEpoch(owner.Epoch, reopened: false);
        _epoch = owner.Epoch;
        LogAcquired(_shard, owner.Epoch);
        await SetUpReplicationAsync(owner);
        if (_promoted)
        {
            // Commits the old primary acknowledged may never have published their invalidations: the whole table's
            // cached entries go, as after a restore.
            await _writer.AnnounceRestoreAsync(_writer.Sequence, TimeProvider.GetUtcNow().ToUnixTimeMilliseconds());
        }

        return true;
    }

    /// <summary>
    /// Writes <paramref name="epoch"/> into the file under the write lock: from then on an activation of this file
    /// holding an older epoch cannot commit. Also after the file was replaced (restore, a partition reset), whose
    /// copy may carry an older epoch or none. A newer epoch already in the file means this activation is fenced.
    /// </summary>
    private void StampEpoch(long epoch, bool reopened)
    {
        _writerConnection.Execute("BEGIN IMMEDIATE");
        try
        {
            var current = ReadFileEpoch(_writerConnection);
            if (current > epoch || (current == epoch && !reopened))
            {
                _fenced = true;
                throw new ShardException(ShardErrorCode.Unavailable, $"Shard {_shard} was acquired by a newer activation (epoch {current}); retry.");
            }

            _writerConnection.ExecuteInternal("INSERT OR REPLACE INTO _meta(key, value) VALUES ('epoch', ?)", epoch);
            _writerConnection.Execute("COMMIT");
        }
        catch
        {
            _writerConnection.Execute("ROLLBACK");
            throw;
        }
    }

    /// <summary>
    /// The shard's files are gone (a partition dropped by unshard): its replicas delete their copies too. A replica that
    /// cannot be reached keeps its copy until its silo starts again and finds the shard dropped in the map
    /// (<see cref="Replication.StaleCopies"/>).
    /// </summary>
    private async Task DropReplicaCopiesAsync()
    {
        if (!Ownership.IsDistributed || Cluster is null || _epoch == 0)
        {
            return;
        }

        ShardOwner? owner;
        try
        {
            owner = await Ownership.GetAsync(_shard);
        }
        catch (ShardException)
        {
            return; // the map is unreachable: the release fails too, and the sweep finds the copies later
        }

        if (owner is null || owner.Primary != Cluster.SelfName || owner.Epoch != _epoch)
        {
            return; // superseded: the copies are a newer primary's now
        }

        foreach (var silo in owner.Replicas)
        {
            if (!IsActiveSilo(silo))
            {
                // Not called (Orleans would place the grain on another silo, where its activation fails): the sweep finds
                // the copy when that silo starts again.
                LogDropFailed(_shard, silo, "its silo is not an active member of the cluster");
                continue;
            }

            try
            {
                await _grains.GetGrain<IShardReplica>(ShardReplicaGrain.KeyOf(silo, _shard)).DropAsync(_epoch).WaitAsync(ClusterOptions.ReplicationTimeout);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                LogDropFailed(_shard, silo, ex.Message);
            }
        }
    }

    /// <summary>The shard's files are gone (a partition dropped by unshard): its entry leaves the map.</summary>
    private async Task ReleaseOwnershipAsync()
    {
        if (Ownership.IsDistributed && Cluster is { } cluster && _epoch != 0)
        {
            await Ownership.ReleaseAsync(_shard, cluster.SelfName, _epoch);
        }
    }

    private static long ReadFileEpoch(Storage.ShardConnection connection) =>
        connection.ExecuteScalar("SELECT coalesce((SELECT value FROM _meta WHERE key = 'epoch'), 0)");

    /// <summary>This activation is not the primary: it opens nothing; calls are sent on or answered UNAVAILABLE.</summary>
    private void Refuse(string primary)
    {
        _primaryElsewhere = primary;
        _refusedAt = Environment.TickCount64;
        if (Cluster?.ActiveSilo(primary) is not null)
        {
            // Calls waiting for this activation are re-addressed once it is gone: the director puts them on the primary.
            _refusal = $"Shard {_shard} has moved to silo '{primary}'; retry.";
            _movedTo = primary;
            this.DeactivateOnIdle();
        }
        else
        {
            _refusal = $"The primary of shard {_shard} is on silo '{primary}', which is not reachable; retry.";
        }

        LogRefused(_shard, primary);
    }

    /// <summary>In the call filter, before a call runs: throws UNAVAILABLE when this activation must not serve.</summary>
    private void ThrowIfRefusing()
    {
        if (_quorumLost is { } lost)
        {
            throw new ShardException(ShardErrorCode.Unavailable, lost);
        }

        if (_fenced)
        {
            this.DeactivateOnIdle();
            throw new ShardException(ShardErrorCode.Unavailable, $"Shard {_shard} was taken over by a newer activation; retry.");
        }

        if (_movedTo is { } movedTo)
        {
            throw new ShardMovedException(_shard, movedTo);
        }

        if (_refusal is { } refusal)
        {
            // The primary's silo came back (or the shard moved to a live one): go, so that the next call is placed there.
            // Still down: go after a while too, so that a later call tries the takeover again (a promotion that failed for
            // a peer's timeout, or handed over to a more advanced copy, must not leave the shard refusing until the old
            // primary returns).
            if ((_primaryElsewhere is { } primary && Cluster?.ActiveSilo(primary) is not null)
                || Environment.TickCount64 - _refusedAt >= (long)PromotionRetry.TotalMilliseconds)
            {
                this.DeactivateOnIdle();
            }

            throw new ShardException(ShardErrorCode.Unavailable, refusal);
        }
    }

    /// <summary>The placement of this shard as the map and this activation see it.</summary>
    public async Task<ShardPlacementInfo> GetPlacementAsync(CancellationToken cancellationToken = default)
    {
        ThrowIfRefusing();
        var owner = await Ownership.GetAsync(_shard, cancellationToken);
        var self = Cluster?.SelfName ?? Environment.MachineName;
        var replicas = _replicator?.Applied() ?? owner?.Replicas.Select(r => new ReplicaInfo(r, -1)).ToList() ?? [];
        return new ShardPlacementInfo(owner?.Primary ?? self, replicas, owner?.Epoch ?? _epoch);
    }

    /// <summary>At the start of every write transaction, holding the write lock: the file must still carry this activation's epoch.</summary>
    private sealed class FenceObserver(TableShardGrain grain) : ICommitObserver
    {
        public void Began(Storage.ShardConnection connection)
        {
            if (grain._movedTo is { } movedTo)
            {
                // Queued behind a move's switch: the caller resends it to the new primary.
                throw new ShardMovedException(grain._shard, movedTo);
            }

            if (grain._quorumLost is { } lost)
            {
                // Writes queued when the activation learned it must serve nothing more (a lost majority, a hand-over
                // whose outcome is unknown) commit nothing.
                throw new ShardException(ShardErrorCode.Unavailable, lost);
            }

            var epoch = grain._epoch;
            if (epoch != 0 && ReadFileEpoch(connection) is var current && current != epoch)
            {
                grain._fenced = true;
                grain.LogFenced(grain._shard, epoch, current);
                throw new ShardException(ShardErrorCode.Unavailable, $"Shard {grain._shard} was taken over by a newer activation (epoch {current}); retry.");
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Shard {Shard} acquired at epoch {Epoch}")]
    private partial void LogAcquired(string shard, long epoch);

    [LoggerMessage(Level = LogLevel.Information, Message = "Shard {Shard} is not opened here: its primary is silo {Primary}")]
    private partial void LogRefused(string shard, string primary);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Shard {Shard} at epoch {Epoch} is fenced: the file carries epoch {Current}; this activation stops")]
    private partial void LogFenced(string shard, long epoch, long current);
}
