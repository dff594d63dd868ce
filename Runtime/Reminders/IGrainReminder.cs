namespace OrleansShards.Runtime;

/// <summary>A registered reminder.</summary>
public interface IGrainReminder
{
    /// <summary>The reminder's name, unique per grain.</summary>
    string ReminderName { get; }

    /// <summary>The period between ticks.</summary>
    TimeSpan Period { get; }

    /// <summary>When the next tick is due.</summary>
    DateTimeOffset NextDue { get; }
}
