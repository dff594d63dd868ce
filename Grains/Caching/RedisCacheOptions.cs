using System.ComponentModel.DataAnnotations;

namespace OrleansShards.Grains.Caching;

/// <summary>
/// The Redis cache store. Every default is stated; invalid values fail the host at start (data annotations, checked
/// by the generated <see cref="RedisCacheOptionsValidator"/>).
/// </summary>
public sealed class RedisCacheOptions
{
    private const string Tick = "00:00:00.0000001";
    private const string Forever = "10675199.02:48:05.4775807";

    /// <summary>StackExchange.Redis configuration string. Default <c>127.0.0.1:6379</c>.</summary>
    [Required]
    public string Configuration { get; set; } = "127.0.0.1:6379";

    /// <summary>
    /// Longest one cache operation may take before the read falls back to the shard (and the circuit
    /// opens). Default 250 ms: a cached read must never be much slower than the shard read it replaces.
    /// </summary>
    [Range(typeof(TimeSpan), Tick, "00:00:30")]
    public TimeSpan OperationTimeout { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>After a failure, operations fail fast (reads go to the shard) for this long before one probe is let through. Default 1 s.</summary>
    [Range(typeof(TimeSpan), Tick, Forever)]
    public TimeSpan BreakDuration { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Connect timeout of the multiplexer. Default 1 s.</summary>
    [Range(typeof(TimeSpan), Tick, Forever)]
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Prefix of every key the shards' cache writes (<c>{KeyPrefix}{tenant}:…</c>), so that deployments sharing one Redis
    /// never read each other's entries. Default none embedded (<c>Shards:Redis:KeyPrefix</c> sets it); in cluster mode
    /// <c>{ServiceId}/</c> unless set.
    /// </summary>
    [MaxLength(200)]
    public string KeyPrefix { get; set; } = string.Empty;

    /// <summary>Keys read per SCAN page (and deleted when older than the flush) when a table's entries are flushed. Default 500.</summary>
    [Range(10, int.MaxValue)]
    public int ScanPageSize { get; set; } = 500;
}
