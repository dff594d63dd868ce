using System.ComponentModel.DataAnnotations;

namespace OrleansShards.Grains.Caching;

/// <summary>
/// How the shards use the cache. Every default is stated; invalid values fail the host at start (ranges by data
/// annotations through the generated <see cref="ShardCacheOptionsValidator"/>, the cross-field rule in <see cref="Validate"/>).
/// </summary>
public sealed class ShardCacheOptions : IValidatableObject
{
    private const string Tick = "00:00:00.0000001";
    private const string Forever = "10675199.02:48:05.4775807";

    /// <summary>How long an entry answers as fresh (<c>servedBy: cache</c>). Default 60 s.</summary>
    [Range(typeof(TimeSpan), Tick, Forever)]
    public TimeSpan Ttl { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// After the TTL, how long an entry may still answer <c>cached</c> reads as <c>cache-stale</c> while
    /// one background refresh (single-flight per key) re-reads it. The store keeps entries and
    /// tombstones for TTL + this window. Default 30 s.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", Forever)]
    public TimeSpan StaleWindow { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The consistency of a read that names none. Default <see cref="Consistency.Strong"/>.</summary>
    public Consistency DefaultConsistency { get; set; } = Consistency.Strong;

    /// <summary>Per-table defaults, keyed by <c>tenant:table</c> or by a table name for every tenant; they win over <see cref="DefaultConsistency"/>.</summary>
    public Dictionary<string, Consistency> TableConsistency { get; } = new(StringComparer.Ordinal);

    /// <summary>
    /// Stream provider carrying invalidation events. Default <c>default</c>. When no provider of that
    /// name is registered, events go straight to the <see cref="ICacheInvalidator"/> grain.
    /// </summary>
    [Required]
    public string StreamProvider { get; set; } = "default";

    /// <summary>Keys tombstoned per store call by the invalidator. Default 256.</summary>
    [Range(1, int.MaxValue)]
    public int InvalidationBatchSize { get; set; } = 256;

    /// <summary>Most-read keys tracked per shard for refresh-ahead and re-warming at activation. Default 256 (0 disables).</summary>
    [Range(0, int.MaxValue)]
    public int HotKeys { get; set; } = 256;

    /// <summary>Whether query results (<c>q:</c> keys) are cached for bounded/cached reads. Default true.</summary>
    public bool CacheQueries { get; set; } = true;

    /// <summary>Answers larger than this (encoded) are not cached. Default 1 MiB.</summary>
    [Range(64, int.MaxValue)]
    public int MaxEntryBytes { get; set; } = 1 << 20;

    /// <summary>Most entries of the in-memory store. Default 100,000.</summary>
    [Range(1, int.MaxValue)]
    public int MemoryMaxEntries { get; set; } = 100_000;

    /// <summary>Delay before an unpublished outbox event is published again. Default 1 s.</summary>
    [Range(typeof(TimeSpan), Tick, Forever)]
    public TimeSpan PublishRetryDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How long entries and tombstones live in the store: TTL plus the stale window.</summary>
    public TimeSpan EntryLifetime => Ttl + StaleWindow;

    /// <summary>The default consistency of one table.</summary>
    public Consistency DefaultFor(string tenant, string table) =>
        TableConsistency.TryGetValue(tenant + ":" + table, out var exact) ? exact
        : TableConsistency.TryGetValue(table, out var byTable) ? byTable
        : DefaultConsistency;

    /// <summary>The rule across fields: tombstones live <see cref="EntryLifetime"/>, which must be at least 1 s.</summary>
    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        // A read slower than the tombstones' lifetime could populate older state after its tombstone expired.
        if (EntryLifetime < TimeSpan.FromSeconds(1))
        {
            yield return new ValidationResult(
                $"ShardCacheOptions.Ttl + StaleWindow must be at least 1 s (was {EntryLifetime}).", [nameof(Ttl), nameof(StaleWindow)]);
        }
    }
}
