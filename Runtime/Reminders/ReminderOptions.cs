namespace OrleansShards.Runtime;

/// <summary>Durable reminders.</summary>
public sealed class ReminderOptions
{
    /// <summary>The SQLite file that stores reminders. Default <c>./data/.silo/reminders.db</c>.</summary>
    public string DatabasePath { get; set; } = Path.Combine("data", ".silo", "reminders.db");

    /// <summary>The shortest period a reminder may have. Default 1 minute; tests lower it.</summary>
    public TimeSpan MinimumPeriod { get; set; } = TimeSpan.FromMinutes(1);
}
