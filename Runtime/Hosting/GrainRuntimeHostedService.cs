using Microsoft.Extensions.Hosting;

namespace OrleansShards.Runtime.Hosting;

/// <summary>Collects idle activations on <see cref="GrainRuntimeOptions.CollectionInterval"/> and deactivates everything when the host stops.</summary>
internal sealed class GrainRuntimeHostedService(GrainRuntime runtime) : BackgroundService
{
    private PeriodicTimer? _timer;

    // The collection timer starts with the host, not whenever the background ExecuteAsync gets
    // scheduled (since .NET 10 it runs on the thread pool), so the collection grid is fixed at start.
    public override Task StartAsync(CancellationToken cancellationToken)
    {
        _timer = new PeriodicTimer(runtime.Options.CollectionInterval, runtime.Time);
        return base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = _timer ?? new PeriodicTimer(runtime.Options.CollectionInterval, runtime.Time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                try
                {
                    await runtime.Directory.CollectIdleAsync().ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    // One failed pass must not end collection for the life of the silo (the
                    // directory logs failures of single deactivations itself).
                }
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
