namespace OrleansShards.Runtime.Streams;

/// <summary>The in-memory stream provider (embedded default; not durable across restarts).</summary>
public sealed class MemoryStreamOptions
{
    /// <summary>Delivery attempts of one item before it is logged as dead and skipped. Default 5.</summary>
    public int MaxDeliveryAttempts { get; set; } = 5;

    /// <summary>Wait before the first redelivery; doubles per attempt. Default 100 ms.</summary>
    public TimeSpan RetryBackoff { get; set; } = TimeSpan.FromMilliseconds(100);
}
