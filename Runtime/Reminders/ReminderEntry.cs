namespace OrleansShards.Runtime.Reminders;

/// <summary>A reminder row as held in memory by the <see cref="ReminderService"/>.</summary>
internal sealed class ReminderEntry(GrainId grain, string name, DateTimeOffset firstDue, TimeSpan period, DateTimeOffset nextDue) : IGrainReminder
{
    public GrainId Grain { get; } = grain;

    public string ReminderName { get; } = name;

    public DateTimeOffset FirstDue { get; } = firstDue;

    public TimeSpan Period { get; } = period;

    public DateTimeOffset NextDue { get; set; } = nextDue;

    public bool InFlight { get; set; }

    /// <summary>The first tick on the period grid strictly after <paramref name="now"/>.</summary>
    public DateTimeOffset NextAfter(DateTimeOffset now)
    {
        if (now < FirstDue)
        {
            return FirstDue;
        }

        var periods = (now - FirstDue).Ticks / Period.Ticks + 1;
        return FirstDue + TimeSpan.FromTicks(periods * Period.Ticks);
    }
}
