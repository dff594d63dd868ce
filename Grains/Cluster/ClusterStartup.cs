using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Runtime;

namespace OrleansShards.Grains.Cluster;

/// <summary>
/// In cluster mode, when the silo starts: a silo that was drained before it stopped takes new shards again (its
/// draining mark is removed). A Redis that cannot be reached is logged, not fatal: the mark goes at the next start.
/// </summary>
internal sealed partial class ClusterStartup(IShardOwnership ownership, IOptions<ShardClusterOptions> options, ILogger<ClusterStartup> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (!ownership.IsDistributed)
        {
            return;
        }

        try
        {
            await ownership.SetDrainingAsync(options.Value.EffectiveSiloName, false, cancellationToken).ConfigureAwait(false);
        }
        catch (ShardException ex)
        {
            LogCouldNotClear(options.Value.EffectiveSiloName, ex.Message);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(Level = LogLevel.Warning, Message = "Silo {Silo} could not clear its draining mark: {Reason}")]
    private partial void LogCouldNotClear(string silo, string reason);
}

/// <summary>
/// In cluster mode, while the silo starts and before it joins the cluster as active (so no replica call can reach it
/// yet): moves aside the shard copies the ownership map has left behind on its disk (<see cref="Replication.StaleCopies"/>).
/// A Redis that cannot be reached is logged, not fatal: the copies wait for the next start.
/// </summary>
internal sealed partial class StaleCopySweep(
    IShardOwnership ownership,
    IOptions<ShardClusterOptions> options,
    IOptions<Hosting.TableShardOptions> shards,
    ClusterView cluster,
    [Microsoft.Extensions.DependencyInjection.FromKeyedServices(Hosting.ShardClock.ServiceKey)] TimeProvider time,
    ILogger<StaleCopySweep> logger) : ILifecycleParticipant<ISiloLifecycle>
{
    public void Participate(ISiloLifecycle observer) =>
        observer.Subscribe(nameof(StaleCopySweep), ServiceLifecycleStage.ApplicationServices, SweepAsync, static _ => Task.CompletedTask);

    private async Task SweepAsync(CancellationToken cancellationToken)
    {
        if (!ownership.IsDistributed)
        {
            return;
        }

        var silo = options.Value.EffectiveSiloName;
        try
        {
            var active = cluster.ActiveMembers().Select(m => m.Name).ToHashSet(StringComparer.Ordinal);
            var moved = await Replication.StaleCopies.SweepAsync(ownership, silo, active, shards.Value.DataDirectory, time.GetUtcNow(), cancellationToken).ConfigureAwait(false);
            if (moved.Count > 0)
            {
                LogStaleCopies(silo, moved.Count, Replication.StaleCopies.QuarantineDirectory(shards.Value.DataDirectory), string.Join(", ", moved.Take(20)));
            }
        }
        catch (Exception ex) when (ex is ShardException or IOException or UnauthorizedAccessException)
        {
            LogSweepFailed(silo, ex.Message);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Silo {Silo} moved {Count} stale shard copies the ownership map left behind into {Folder} (deleted after 7 days): {Shards}")]
    private partial void LogStaleCopies(string silo, int count, string folder, string shards);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Silo {Silo} could not look for stale shard copies: {Reason}")]
    private partial void LogSweepFailed(string silo, string reason);
}
