using OrleansShards.Runtime;
using OrleansShards.Tests.Infrastructure;
using OrleansShards.Tests.Runtime.Grains;

namespace OrleansShards.Tests.Runtime;

/// <summary>Non-durable grain timers: ticks are turns, stop on dispose and on deactivation.</summary>
public sealed class GrainTimerTests
{
    private static void Quiet(GrainRuntimeOptions o)
    {
        o.CollectionInterval = TimeSpan.FromDays(1);
        o.IdleDeactivationAge = TimeSpan.FromMinutes(1);
    }

    [Fact]
    public async Task Tick_runs_callback_as_turn_after_running_call_when_tick_falls_due_during_a_call()
    {
        await using var silo = await TestSilo.StartAsync(Quiet);
        var grain = silo.Grains.GetGrain<ITimerGrain>("t");
        await grain.Start(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
        var hold = grain.Hold();
        await silo.Probe.Barrier("holding").Task.Within();

        silo.Time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(0, silo.Probe.Get("ticks"));
        silo.Probe.Open("hold");
        await hold.Within();

        await Eventually.TrueAsync(() => silo.Probe.Get("ticks") == 1, "the queued tick");
        Assert.Equal(0, silo.Probe.Get("overlap"));
        Assert.Equal(1, await grain.Ticks());
    }

    [Fact]
    public async Task Dispose_stops_ticks_when_grain_disposes_its_timer()
    {
        await using var silo = await TestSilo.StartAsync(Quiet);
        var grain = silo.Grains.GetGrain<ITimerGrain>("t");
        await grain.Start(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
        silo.Time.Advance(TimeSpan.FromSeconds(3));
        await Eventually.TrueAsync(() => silo.Probe.Get("ticks") == 3, "three ticks");

        await grain.StopTimer();
        silo.Time.Advance(TimeSpan.FromSeconds(10));

        Assert.Equal(3, await grain.Ticks());
    }

    [Fact]
    public async Task DisposeTimers_stops_ticks_and_ticks_do_not_keep_grain_alive_when_activation_is_collected()
    {
        await using var silo = await TestSilo.StartAsync(Quiet);
        var grain = silo.Grains.GetGrain<ITimerGrain>("t");
        await grain.Start(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));

        silo.Time.Advance(TimeSpan.FromMinutes(2));
        Assert.Equal(1, await silo.Runtime.Directory.CollectIdleAsync().Within());
        Assert.Contains("deactivate:Idle", silo.Probe.Events);
        var ticksAtDeactivation = silo.Probe.Get("ticks");
        silo.Time.Advance(TimeSpan.FromSeconds(30));

        Assert.Equal(120, ticksAtDeactivation);
        Assert.Equal(ticksAtDeactivation, silo.Probe.Get("ticks"));
        Assert.Equal(0, await grain.Ticks().Within());
    }

    [Fact]
    public async Task Start_ticks_once_when_period_is_zero()
    {
        await using var silo = await TestSilo.StartAsync(Quiet);
        var grain = silo.Grains.GetGrain<ITimerGrain>("t");
        await grain.Start(TimeSpan.FromSeconds(1), TimeSpan.Zero);

        silo.Time.Advance(TimeSpan.FromSeconds(10));

        Assert.Equal(1, await grain.Ticks());
    }
}
