using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

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
