namespace OrleansShards.Tests.Infrastructure.Grains;

/// <summary>A grain that registers an Orleans reminder and records its ticks in <see cref="ReminderTicks"/>.</summary>
public interface IReminderProbeGrain : IGrainWithStringKey
{
    Task Register(string reminderName, TimeSpan dueTime, TimeSpan period);

    Task<bool> IsRegistered(string reminderName);

    Task Unregister(string reminderName);
}
