using OrleansShards.Runtime;
using OrleansShards.Tests.Infrastructure;
using OrleansShards.Tests.Runtime.Grains;

namespace OrleansShards.Tests.Runtime;

/// <summary>Durable reminders: registration from grains, ticks under a fake clock, restarts on the same SQLite file.</summary>
public sealed class ReminderServiceTests
{
    private static readonly TimeSpan Period = TimeSpan.FromSeconds(10);

    private static void Quiet(GrainRuntimeOptions o)
    {
        o.CollectionInterval = TimeSpan.FromDays(1);
        o.IdleDeactivationAge = TimeSpan.FromMinutes(1);
    }

    private static Task SleepingUntil(TestSilo silo, DateTimeOffset due) =>
        Eventually.TrueAsync(() => silo.Reminders.SleepingUntil == due, $"the reminder loop to wait for {due:O} (now waiting for {silo.Reminders.SleepingUntil:O})");

    private static int Ticks(TestSilo silo, string key, string name) => silo.Probe.Get($"ticks:{key}:{name}");

    [Fact]
    public async Task RegisterOrUpdateAsync_lists_reminder_and_tick_activates_grain_when_due_time_passes()
    {
        await using var silo = await TestSilo.StartAsync(Quiet);
        var t0 = silo.Time.GetUtcNow();
        var grain = silo.Grains.GetGrain<IReminderGrain>("r");
        await grain.Register("wake", TimeSpan.FromMinutes(10), TimeSpan.FromMinutes(10));
        Assert.Equal(["wake"], await grain.List());

        // Let the grain go idle and be collected, so the tick has to activate it again.
        silo.Time.Advance(TimeSpan.FromMinutes(2));
        Assert.Equal(1, await silo.Runtime.Directory.CollectIdleAsync().Within());
        await SleepingUntil(silo, t0 + TimeSpan.FromMinutes(10));
        silo.Time.Advance(TimeSpan.FromMinutes(8));

        await Eventually.TrueAsync(() => Ticks(silo, "r", "wake") == 1, "the first tick");
        Assert.Equal(2, silo.Probe.Count("activate:r"));
        var tick = Assert.Single(ReminderGrain.TicksOf(silo.Probe));
        Assert.Equal(t0 + TimeSpan.FromMinutes(10), tick.Status.CurrentTickTime);
        Assert.Equal(TimeSpan.FromMinutes(10), tick.Status.Period);
    }

    [Fact]
    public async Task ExecuteAsync_ticks_once_per_period_on_the_grid_when_clock_advances()
    {
        await using var silo = await TestSilo.StartAsync(Quiet);
        var t0 = silo.Time.GetUtcNow();
        await silo.Grains.GetGrain<IReminderGrain>("r").Register("p", Period, Period);

        for (var i = 1; i <= 3; i++)
        {
            await SleepingUntil(silo, t0 + (i * Period));
            silo.Time.Advance(Period);
            await Eventually.TrueAsync(() => Ticks(silo, "r", "p") == i, $"tick {i}");
        }

        await SleepingUntil(silo, t0 + (4 * Period));
        Assert.Equal(3, Ticks(silo, "r", "p"));
        Assert.Equal(3, silo.Reminders.TicksDelivered);
    }

    [Fact]
    public async Task UnregisterAsync_stops_ticks_and_removes_reminder_when_grain_unregisters()
    {
        await using var silo = await TestSilo.StartAsync(Quiet);
        var t0 = silo.Time.GetUtcNow();
        var grain = silo.Grains.GetGrain<IReminderGrain>("r");
        await grain.Register("p", Period, Period);
        await SleepingUntil(silo, t0 + Period);
        silo.Time.Advance(Period);
        await Eventually.TrueAsync(() => Ticks(silo, "r", "p") == 1, "the first tick");

        Assert.True(await grain.Unregister("p"));
        await SleepingUntil(silo, DateTimeOffset.MaxValue);
        silo.Time.Advance(5 * Period);

        await SleepingUntil(silo, DateTimeOffset.MaxValue);
        Assert.Equal(1, Ticks(silo, "r", "p"));
        Assert.Empty(await grain.List());
    }

    [Fact]
    public async Task RegisterOrUpdateAsync_rejects_period_naming_MinimumPeriod_when_period_is_below_it()
    {
        await using var silo = await TestSilo.StartAsync(Quiet, r => r.MinimumPeriod = TimeSpan.FromMinutes(1));
        var grain = silo.Grains.GetGrain<IReminderGrain>("r");

        var ex = await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => grain.Register("fast", TimeSpan.Zero, TimeSpan.FromSeconds(59)).Within());

        Assert.Contains("MinimumPeriod", ex.Message, StringComparison.Ordinal);
        Assert.Empty(await grain.List());
    }

    [Fact]
    public async Task LoadAsync_keeps_reminder_and_fires_it_when_host_restarts_on_same_database()
    {
        using var dir = new TempDirectory("reminders");
        var time = new FakeTimeProvider();
        var probe = new Probe();
        var t0 = time.GetUtcNow();
        await using (var first = await TestSilo.StartAsync(Quiet, time: time, directory: dir, probe: probe))
        {
            await first.Grains.GetGrain<IReminderGrain>("r").Register("p", Period, Period);
        }

        await using (var second = await TestSilo.StartAsync(Quiet, time: time, directory: dir, probe: probe))
        {
            Assert.Equal(["p"], await second.Grains.GetGrain<IReminderGrain>("r").List());
            await SleepingUntil(second, t0 + Period);
            second.Time.Advance(Period);
            await Eventually.TrueAsync(() => Ticks(second, "r", "p") == 1, "the tick after restart");
            await SleepingUntil(second, t0 + (2 * Period));
            Assert.True(await second.Grains.GetGrain<IReminderGrain>("r").Unregister("p"));
        }

        await using var third = await TestSilo.StartAsync(Quiet, time: time, directory: dir, probe: probe);
        Assert.Empty(await third.Grains.GetGrain<IReminderGrain>("r").List());
    }

    [Fact]
    public async Task ExecuteAsync_delivers_missed_ticks_once_then_continues_on_grid_when_host_was_down_past_due()
    {
        using var dir = new TempDirectory("reminders");
        var time = new FakeTimeProvider();
        var probe = new Probe();
        var t0 = time.GetUtcNow();
        await using (var first = await TestSilo.StartAsync(Quiet, time: time, directory: dir, probe: probe))
        {
            await first.Grains.GetGrain<IReminderGrain>("r").Register("p", Period, Period);
        }

        time.Advance(TimeSpan.FromSeconds(35)); // due at 10, 20, 30 while down
        await using var second = await TestSilo.StartAsync(Quiet, time: time, directory: dir, probe: probe);

        await SleepingUntil(second, t0 + TimeSpan.FromSeconds(40));
        Assert.Equal(1, Ticks(second, "r", "p"));
        Assert.Equal(t0 + Period, Assert.Single(ReminderGrain.TicksOf(probe)).Status.CurrentTickTime);

        time.Advance(TimeSpan.FromSeconds(5));
        await Eventually.TrueAsync(() => Ticks(second, "r", "p") == 2, "the next tick on the grid");
        Assert.Equal(t0 + TimeSpan.FromSeconds(40), ReminderGrain.TicksOf(probe).Last().Status.CurrentTickTime);
    }
}
