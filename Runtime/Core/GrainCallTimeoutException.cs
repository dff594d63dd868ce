namespace OrleansShards.Runtime;

/// <summary>A grain call did not complete within the call timeout.</summary>
public class GrainCallTimeoutException : TimeoutException
{
    public GrainCallTimeoutException(string message)
        : base(message)
    {
    }
}
