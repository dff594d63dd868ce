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
/// yet): deletes the shard copies the ownership map has left behind on its disk (<see cref="Replication.StaleCopies"/>).
/// A Redis that cannot be reached is logged, not fatal: the copies wait for the next start.
/// </summary>
internal sealed partial class StaleCopySweep(
    IShardOwnership ownership,
    IOptions<ShardClusterOptions> options,
    IOptions<Hosting.TableShardOptions> shards,
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
            var deleted = await Replication.StaleCopies.SweepAsync(ownership, silo, shards.Value.DataDirectory, cancellationToken).ConfigureAwait(false);
            if (deleted.Count > 0)
            {
                LogStaleCopies(silo, deleted.Count, string.Join(", ", deleted.Take(20)));
            }
        }
        catch (Exception ex) when (ex is ShardException or IOException or UnauthorizedAccessException)
        {
            LogSweepFailed(silo, ex.Message);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Silo {Silo} deleted {Count} stale shard copies the ownership map left behind: {Shards}")]
    private partial void LogStaleCopies(string silo, int count, string shards);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Silo {Silo} could not look for stale shard copies: {Reason}")]
    private partial void LogSweepFailed(string silo, string reason);
}
