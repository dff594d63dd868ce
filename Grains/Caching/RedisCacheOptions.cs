namespace OrleansShards.Grains.Caching;

/// <summary>The Redis cache store. Every default is stated; invalid values fail the host at start.</summary>
public sealed class RedisCacheOptions
{
    /// <summary>StackExchange.Redis configuration string. Default <c>127.0.0.1:6379</c>.</summary>
    public string Configuration { get; set; } = "127.0.0.1:6379";

    /// <summary>
    /// Longest one cache operation may take before the read falls back to the shard (and the circuit
    /// opens). Default 250 ms: a cached read must never be much slower than the shard read it replaces.
    /// </summary>
    public TimeSpan OperationTimeout { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>After a failure, operations fail fast (reads go to the shard) for this long before one probe is let through. Default 1 s.</summary>
    public TimeSpan BreakDuration { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Connect timeout of the multiplexer. Default 1 s.</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Keys deleted per SCAN page when a table's entries are flushed. Default 500.</summary>
    public int ScanPageSize { get; set; } = 500;
}
