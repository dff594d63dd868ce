using System.Collections.Concurrent;

namespace OrleansShards.Tests.Infrastructure.Grains;

/// <summary>Ticks received by <see cref="ReminderProbeGrain"/>, per "grain key/reminder name".</summary>
public static class ReminderTicks
{
    private static readonly ConcurrentDictionary<string, TaskCompletionSource> Waiters = new();
    private static readonly ConcurrentDictionary<string, int> Counts = new();

    public static void Record(string grainKey, string reminderName)
    {
        var key = grainKey + "/" + reminderName;
        Counts.AddOrUpdate(key, 1, (_, n) => n + 1);
        if (Waiters.TryRemove(key, out var waiter))
        {
            waiter.TrySetResult();
        }
    }

    public static int Count(string grainKey, string reminderName) =>
        Counts.TryGetValue(grainKey + "/" + reminderName, out var n) ? n : 0;

    /// <summary>Completes at the next tick recorded after this call.</summary>
    public static Task NextTick(string grainKey, string reminderName) =>
        Waiters.GetOrAdd(grainKey + "/" + reminderName, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;
}
