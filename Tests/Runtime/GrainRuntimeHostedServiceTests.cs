using OrleansShards.Tests.Infrastructure;
using OrleansShards.Tests.Runtime.Grains;

namespace OrleansShards.Tests.Runtime;

/// <summary>The hosted collector: idle collection on its own timer, deactivation at host stop.</summary>
public sealed class GrainRuntimeHostedServiceTests
{
    [Fact]
    public async Task ExecuteAsync_collects_idle_activation_when_fake_clock_passes_age_and_interval()
    {
        await using var silo = await TestSilo.StartAsync(o =>
        {
            o.CollectionInterval = TimeSpan.FromMinutes(1);
            o.IdleDeactivationAge = TimeSpan.FromMinutes(5);
        });
        var grain = silo.Grains.GetGrain<ICounterGrain>("idle");
        var first = await grain.ActivationId();

        silo.Time.Advance(TimeSpan.FromMinutes(6));

        await Eventually.TrueAsync(() => silo.Probe.Has("deactivate:idle:Idle"), "the collector to deactivate the idle grain");
        Assert.NotEqual(first, await grain.ActivationId().Within());
    }

    [Fact]
    public async Task StopAsync_deactivates_every_activation_with_ShuttingDown_when_host_stops()
    {
        await using var silo = await TestSilo.StartAsync();
        await silo.Grains.GetGrain<ICounterGrain>("x").Increment();
        await silo.Grains.GetGrain<ITimerGrain>("t").Start(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));

        await silo.StopAsync();

        Assert.Contains("deactivate:x:ShuttingDown", silo.Probe.Events);
        Assert.Contains("deactivate:ShuttingDown", silo.Probe.Events);
        silo.Time.Advance(TimeSpan.FromSeconds(5));
        Assert.Equal(0, silo.Probe.Get("ticks"));
    }
}
