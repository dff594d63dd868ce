namespace OrleansShards.Grains.Operations;

/// <summary>Options of the long operations' records (<see cref="IOperationGrain"/>), bound from <c>Shards:Operations</c>.</summary>
public sealed class OperationOptions
{
    /// <summary>The configuration section these options are bound from.</summary>
    public const string SectionName = "Shards:Operations";

    /// <summary>How long a record stays readable after its operation ended (it lives in memory). Default 1 hour.</summary>
    public TimeSpan Retention { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Least time between two progress reports of one operation within a phase. Default 250 ms.</summary>
    public TimeSpan ReportInterval { get; set; } = TimeSpan.FromMilliseconds(250);
}
