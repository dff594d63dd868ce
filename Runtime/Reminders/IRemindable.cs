namespace OrleansShards.Runtime;

/// <summary>A grain that receives durable reminder ticks.</summary>
public interface IRemindable
{
    /// <summary>Called as a writing turn for each tick (at least once; a throw means the tick is retried next period).</summary>
    Task ReceiveReminder(string reminderName, TickStatus status);
}
