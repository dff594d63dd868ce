using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using OrleansShards.Runtime;

namespace OrleansShards.Tests.Runtime.Grains;

public interface IReminderGrain : IGrainWithStringKey
{
    Task Register(string name, TimeSpan dueTime, TimeSpan period);

    Task<bool> Unregister(string name);

    Task<string[]> List();
}

public sealed class ReminderGrain(Probe probe) : Grain, IReminderGrain, IRemindable
{
    /// <summary>Every tick received, in order, by any ReminderGrain of any silo sharing the probe.</summary>
    public static ConcurrentQueue<(string Key, string Name, TickStatus Status)> TicksOf(Probe probe) => Ticks.GetOrAdd(probe, _ => new());

    private static readonly ConditionalWeakTable<Probe, ConcurrentQueue<(string, string, TickStatus)>> Ticks = new();

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        probe.Log("activate:" + GetPrimaryKeyString());
        return Task.CompletedTask;
    }

    public Task Register(string name, TimeSpan dueTime, TimeSpan period) => RegisterOrUpdateReminder(name, dueTime, period);

    public async Task<bool> Unregister(string name)
    {
        var reminder = await GetReminder(name);
        if (reminder is null)
        {
            return false;
        }

        await UnregisterReminder(reminder);
        return true;
    }

    public async Task<string[]> List() => [.. (await GetReminders()).Select(r => r.ReminderName).Order()];

    public Task ReceiveReminder(string reminderName, TickStatus status)
    {
        TicksOf(probe).Enqueue((GetPrimaryKeyString(), reminderName, status));
        probe.Increment("ticks:" + GetPrimaryKeyString() + ":" + reminderName);
        return Task.CompletedTask;
    }
}
