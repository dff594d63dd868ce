namespace OrleansShards.Runtime.Streams.Redis;

/// <summary>The Redis Streams provider. Every default is stated; invalid values fail at registration.</summary>
public sealed class RedisStreamOptions
{
    /// <summary>StackExchange.Redis configuration string. Default <c>127.0.0.1:6379</c>.</summary>
    public string Configuration { get; set; } = "127.0.0.1:6379";

    /// <summary>Prefix of the Redis stream keys (<c>{prefix}:{provider}:{queue}</c>). Default <c>orleansshards:streams</c>.</summary>
    public string KeyPrefix { get; set; } = "orleansshards:streams";

    /// <summary>
    /// Redis streams ("queues") the logical streams are hashed onto; a logical stream always maps to
    /// the same queue, which keeps its items in order. Default 8.
    /// </summary>
    public int Queues { get; set; } = 8;

    /// <summary>Consumer group: one per silo service, so each item is handled once per service. Default <c>silo</c>.</summary>
    public string ConsumerGroup { get; set; } = "silo";

    /// <summary>This consumer's name in the group; stable across restarts so its pending items are re-read. Default machine name.</summary>
    public string ConsumerName { get; set; } = Environment.MachineName;

    /// <summary>Approximate length each queue is trimmed to at XADD (<c>MAXLEN ~</c>). Default 100,000.</summary>
    public long MaxLength { get; set; } = 100_000;

    /// <summary>Items read per XREADGROUP. Default 128.</summary>
    public int BatchSize { get; set; } = 128;

    /// <summary>Wait between reads when the queues were empty. Default 5 ms.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromMilliseconds(5);

    /// <summary>An item pending (unacknowledged) this long — its consumer died — is claimed by another. Default 30 s.</summary>
    public TimeSpan ClaimIdle { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How often pending items are checked for claiming. Default 5 s.</summary>
    public TimeSpan ClaimInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Delivery attempts of one item before it is logged as dead and acknowledged. Default 10.</summary>
    public int MaxDeliveryAttempts { get; set; } = 10;

    /// <summary>Wait before the first redelivery; doubles per attempt, capped at 5 s. Default 100 ms.</summary>
    public TimeSpan RetryBackoff { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Longest one Redis command may take. Default 2 s.</summary>
    public TimeSpan OperationTimeout { get; set; } = TimeSpan.FromSeconds(2);
}
