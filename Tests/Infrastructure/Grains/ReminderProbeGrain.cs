using Orleans.Runtime;

namespace OrleansShards.Tests.Infrastructure.Grains;

/// <summary>Registers reminders and records every tick.</summary>
public sealed class ReminderProbeGrain : Grain, IReminderProbeGrain, IRemindable
{
    public async Task Register(string reminderName, TimeSpan dueTime, TimeSpan period) =>
        await this.RegisterOrUpdateReminder(reminderName, dueTime, period);

    public async Task<bool> IsRegistered(string reminderName) =>
        await this.GetReminder(reminderName) is not null;

    public async Task Unregister(string reminderName)
    {
        var reminder = await this.GetReminder(reminderName);
        if (reminder is not null)
        {
            await this.UnregisterReminder(reminder);
        }
    }

    public Task ReceiveReminder(string reminderName, TickStatus status)
    {
        ReminderTicks.Record(this.GetPrimaryKeyString(), reminderName);
        return Task.CompletedTask;
    }
}
