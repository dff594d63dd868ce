namespace OrleansShards.Grains.Hosting.Reminders;

/// <summary>Options of the SQLite-backed Orleans reminder table.</summary>
public sealed class SqliteReminderTableOptions
{
    /// <summary>
    /// Path of the SQLite database file holding the reminders. Its directory is created when missing.
    /// Required; validated when the silo starts.
    /// </summary>
    public string DatabasePath { get; set; } = string.Empty;
}
