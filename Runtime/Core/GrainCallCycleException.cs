namespace OrleansShards.Runtime;

/// <summary>
/// A call would re-enter an activation that is still running the turn that led to it
/// (A→B→A). Turns are not reentrant, so waiting would never end; the call fails at once
/// with this timeout-kind error instead of hanging until the call timeout.
/// </summary>
public sealed class GrainCallCycleException : GrainCallTimeoutException
{
    public GrainCallCycleException(string message)
        : base(message)
    {
    }
}
