using Microsoft.Extensions.Hosting;

namespace OrleansShards.Runtime.Hosting;

/// <summary>Collects idle activations on <see cref="GrainRuntimeOptions.CollectionInterval"/> and deactivates everything when the host stops.</summary>
internal sealed class GrainRuntimeHostedService(GrainRuntime runtime) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(runtime.Options.CollectionInterval, runtime.Time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                await runtime.Directory.CollectIdleAsync().ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        await runtime.Directory.DeactivateAllAsync().WaitAsync(cancellationToken).ConfigureAwait(false);
    }
}
