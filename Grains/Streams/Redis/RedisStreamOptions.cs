namespace OrleansShards.Grains.Streams.Redis;

/// <summary>
/// Options of the Redis Streams persistent stream provider, configured per provider name.
/// Every default is stated; invalid values fail silo start, naming the option.
/// </summary>
public sealed class RedisStreamOptions
{
    /// <summary>
    /// StackExchange.Redis configuration string, used only when no <c>IConnectionMultiplexer</c>
    /// is registered in DI (a registered one is shared). Default <c>127.0.0.1:6379</c>.
    /// </summary>
    public string Configuration { get; set; } = "127.0.0.1:6379";

    /// <summary>Prefix of the Redis stream keys (<c>{KeyPrefix}:{provider}:{queue}</c>). Default <c>orleansshards:streams</c>.</summary>
    public string KeyPrefix { get; set; } = "orleansshards:streams";

    /// <summary>
    /// Redis streams ("queues") the logical streams are hashed onto; a logical stream always maps to
    /// the same queue, which keeps its items in order. Must be the same on every silo. Default 8.
    /// </summary>
    public int Queues { get; set; } = 8;

    /// <summary>Consumer group shared by the silos of the service. Default <c>silo</c>.</summary>
    public string ConsumerGroup { get; set; } = "silo";

    /// <summary>
    /// This silo's consumer name in the group; must be stable across restarts (its pending items are
    /// re-read at start) and unique per silo. Default the machine name.
    /// </summary>
    public string ConsumerName { get; set; } = Environment.MachineName;

    /// <summary>Approximate length each queue is trimmed to at XADD (<c>MAXLEN ~</c>). Default 100,000.</summary>
    public long MaxLength { get; set; } = 100_000;

    /// <summary>Most entries read by one XREADGROUP. Default 128.</summary>
    public int BatchSize { get; set; } = 128;

    /// <summary>An entry pending (unacknowledged) this long in another consumer — which died — is claimed. Default 30 s.</summary>
    public TimeSpan ClaimIdle { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How often each queue's pending entries are checked for claiming. Default 5 s.</summary>
    public TimeSpan ClaimInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Longest one Redis command may take. Default 2 s.</summary>
    public TimeSpan OperationTimeout { get; set; } = TimeSpan.FromSeconds(2);
}
