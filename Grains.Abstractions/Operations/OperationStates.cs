namespace OrleansShards;

/// <summary>The states of an operation record.</summary>
public static class OperationStates
{
    /// <summary>Started, not ended.</summary>
    public const string Running = "running";

    /// <summary>Ended successfully.</summary>
    public const string Completed = "completed";

    /// <summary>Ended with an error (<see cref="OperationInfo.Error"/>).</summary>
    public const string Failed = "failed";
}
