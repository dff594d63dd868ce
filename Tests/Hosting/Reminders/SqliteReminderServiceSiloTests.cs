using Orleans.Hosting;
using OrleansShards.Grains.Hosting.Reminders;
using OrleansShards.Tests.Infrastructure.Grains;
using OrleansShards.Tests.Infrastructure;

namespace OrleansShards.Tests.Hosting.Reminders;

/// <summary>Orleans' reminder service on the SQLite table, in a real in-process silo.</summary>
public sealed class SqliteReminderServiceSiloTests : IDisposable
{
    private readonly TempDirectory _dir = new("sqlite-reminder-silo");

    public void Dispose() => _dir.Dispose();

    private Task<TestSilo> StartSiloAsync() => TestSilo.StartAsync(silo => silo
        .UseSqliteReminderService(o => o.DatabasePath = _dir.Combine("reminders.db"))
        .Configure<ReminderOptions>(o =>
        {
            o.MinimumReminderPeriod = TimeSpan.FromMilliseconds(100);
            o.RefreshReminderListPeriod = TimeSpan.FromSeconds(1);
            o.ReminderLoadingWindow = TimeSpan.FromSeconds(2);
        }));

    [Fact]
    public async Task Reminder_ticks_and_is_still_registered_and_ticking_after_the_silo_restarts_on_the_same_file()
    {
        var key = "probe-" + Guid.NewGuid().ToString("N");
        await using (var silo = await StartSiloAsync())
        {
            var grain = silo.Grains.GetGrain<IReminderProbeGrain>(key);
            var firstTick = ReminderTicks.NextTick(key, "tick");
            await grain.Register("tick", TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(1));

            await firstTick.WaitAsync(TimeSpan.FromSeconds(20));
            Assert.True(await grain.IsRegistered("tick"));
            Assert.False(await grain.IsRegistered("never"));
        }

        var ticksBeforeRestart = ReminderTicks.Count(key, "tick");
        await using (var restarted = await StartSiloAsync())
        {
            // Nothing registers it again: the reminder service loads it from the file and ticks it.
            var tickAfterRestart = ReminderTicks.NextTick(key, "tick");
            await tickAfterRestart.WaitAsync(TimeSpan.FromSeconds(30));
            Assert.True(ReminderTicks.Count(key, "tick") > ticksBeforeRestart);

            var grain = restarted.Grains.GetGrain<IReminderProbeGrain>(key);
            Assert.True(await grain.IsRegistered("tick"));
            await grain.Unregister("tick");
            Assert.False(await grain.IsRegistered("tick"));
        }

        await using (var third = await StartSiloAsync())
        {
            Assert.False(await third.Grains.GetGrain<IReminderProbeGrain>(key).IsRegistered("tick"));
        }
    }
}
