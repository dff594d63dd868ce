using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Runtime;
using OrleansShards.Grains.Cluster;

namespace OrleansShards.Grains.Replication;

/// <summary>
/// Repair of shards that are not open. An open primary replaces a replica whose silo is gone by its own timer
/// (<c>TableShardGrain.StartRepairTimer</c>), but that timer does not keep a shard active: an idle shard would keep a
/// missing copy until it is next used. This silo service, every third of <see cref="ShardClusterOptions.ReplicaReplaceAfter"/>
/// (1 s to 1 min), reads the shards whose primary is this silo from the ownership map, and for each replica on a silo
/// this silo has seen absent from the active members for <see cref="ShardClusterOptions.ReplicaReplaceAfter"/>, asks
/// the shard to replace it (<see cref="IShardMove.ReplaceReplicaAsync"/>; that opens an idle shard, which goes idle
/// again afterwards) — only when some active, not draining silo can take the copy, so a cluster with no spare silo does
/// not open its idle shards every period, and only when the live copies are a majority (a shard that cannot open
/// cannot be repaired from here). The map is read while some member is not active (or a gone replica is watched), else
/// every <see cref="FullReadEvery"/>.
/// </summary>
internal sealed partial class ReplicaRepair(
    IShardOwnership ownership,
    ClusterView cluster,
    IGrainFactory grains,
    IOptions<ShardClusterOptions> options,
    ILogger<ReplicaRepair> logger) : ILifecycleParticipant<ISiloLifecycle>
{
    /// <summary>How often the map is read when every member is active and no replica is watched.</summary>
    internal static readonly TimeSpan FullReadEvery = TimeSpan.FromMinutes(10);

    private readonly Dictionary<string, long> _goneSince = new(StringComparer.Ordinal);
    private long _lastRead;
    private readonly CancellationTokenSource _stopping = new();
    private Task? _loop;

    public void Participate(ISiloLifecycle observer) =>
        observer.Subscribe(nameof(ReplicaRepair), ServiceLifecycleStage.Active, StartAsync, StopAsync);

    private Task StartAsync(CancellationToken cancellationToken)
    {
        if (ownership.IsDistributed && options.Value.ReplicationFactor > 1)
        {
            _loop = Task.Run(() => RunAsync(_stopping.Token), CancellationToken.None);
        }

        return Task.CompletedTask;
    }

    private async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        if (_loop is { } loop)
        {
            await loop.WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    /// <summary>How often the map is read: a third of <see cref="ShardClusterOptions.ReplicaReplaceAfter"/>, 1 s to 1 min.</summary>
    internal static TimeSpan Period(TimeSpan replaceAfter) =>
        TimeSpan.FromTicks(Math.Clamp(replaceAfter.Ticks / 3, TimeSpan.TicksPerSecond, TimeSpan.TicksPerMinute));

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        var period = Period(options.Value.ReplicaReplaceAfter);
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(period, cancellationToken).ConfigureAwait(false);
                await RepairAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                LogPassFailed(ex.Message);
            }
        }
    }

    /// <summary>One pass: replaces the long-gone replicas of this silo's shards.</summary>
    internal async Task RepairAsync(CancellationToken cancellationToken)
    {
        var after = options.Value.ReplicaReplaceAfter;
        var now = Stopwatch.GetTimestamp();

        // The map is read only while some member is not active, a replica is being watched, or every FullReadEvery (for
        // replicas on silos that left the membership table altogether).
        if (_goneSince.Count == 0 && cluster.Members().All(m => m.Status == SiloStatus.Active)
            && _lastRead != 0 && Stopwatch.GetElapsedTime(_lastRead, now) < FullReadEvery)
        {
            return;
        }

        _lastRead = now;
        var active = cluster.ActiveMembers().Select(m => m.Name).ToHashSet(StringComparer.Ordinal);
        var entries = await ownership.ListAsync(cluster.SelfName, cancellationToken).ConfigureAwait(false);
        var absent = entries.SelectMany(e => e.Owner.Replicas).Where(r => !active.Contains(r)).ToHashSet(StringComparer.Ordinal);
        foreach (var back in _goneSince.Keys.Where(k => !absent.Contains(k)).ToList())
        {
            _goneSince.Remove(back);
        }

        foreach (var silo in absent)
        {
            _goneSince.TryAdd(silo, now);
        }

        var longGone = absent.Where(s => Stopwatch.GetElapsedTime(_goneSince[s], now) >= after).ToHashSet(StringComparer.Ordinal);
        if (longGone.Count == 0)
        {
            return;
        }

        var draining = await ownership.DrainingAsync(cancellationToken).ConfigureAwait(false);
        foreach (var (shard, owner) in entries)
        {
            foreach (var silo in owner.Replicas.Where(longGone.Contains))
            {
                var spare = active.Any(n => n != owner.Primary && !owner.Replicas.Contains(n) && !draining.Contains(n));

                // Opening the shard needs a majority of its copies: without one (two copies, one gone) it cannot be
                // repaired from here, and trying would only raise its epoch and wait out the replication timeout.
                var live = 1 + owner.Replicas.Count(active.Contains);
                var majority = (1 + owner.Replicas.Count) / 2 + 1;
                if (!spare || live < majority || cancellationToken.IsCancellationRequested)
                {
                    continue;
                }

                try
                {
                    var replacement = await grains.GetGrain<IShardMove>(shard).ReplaceReplicaAsync(silo, cancellationToken).ConfigureAwait(false);
                    if (replacement is not null)
                    {
                        LogReplaced(shard, silo, replacement);
                    }
                }
                catch (Exception ex) when (ex is not OutOfMemoryException && !cancellationToken.IsCancellationRequested)
                {
                    LogReplaceFailed(shard, silo, ex.Message);
                }

                break; // the entry changed: its other replicas wait for the next pass
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Repair: the replica of {Shard} on silo {Silo}, gone, was replaced by one on {Replacement}")]
    private partial void LogReplaced(string shard, string silo, string replacement);

    [LoggerMessage(Level = LogLevel.Information, Message = "Repair: the replica of {Shard} on silo {Silo} could not be replaced now: {Reason}")]
    private partial void LogReplaceFailed(string shard, string silo, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Repair pass failed: {Reason}")]
    private partial void LogPassFailed(string reason);
}
