using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace OrleansShards.Grains.Caching;

/// <summary>
/// The cache meter <c>OrleansShards.Cache</c> (exported at <c>/metrics</c>) and the per-table figures
/// reported in <see cref="ShardStats.Cache"/>. Instruments are tagged with <c>tenant</c> and <c>shard</c> (the silo
/// exports <c>shard</c> only with <c>ShardMetricsOptions.PerShardTags</c>).
/// Figures survive the shard's deactivation (they belong to the silo).
/// </summary>
public sealed class CacheMetrics : IDisposable
{
    /// <summary>The meter name.</summary>
    public const string MeterName = "OrleansShards.Cache";

    // One meter per process (see ShardMetrics): OpenTelemetry would retire every host's series when the first stopped.
    private static readonly Meter Meter = new(MeterName);
    private static readonly Counter<long> HitsCounter = Meter.CreateCounter<long>("orleansshards.cache.hits", description: "Reads answered by a fresh cache entry");
    private static readonly Counter<long> MissesCounter = Meter.CreateCounter<long>("orleansshards.cache.misses", description: "Reads that went to the shard");
    private static readonly Counter<long> StaleCounter = Meter.CreateCounter<long>("orleansshards.cache.stale", description: "Reads answered in the stale-while-revalidate window");
    private static readonly Counter<long> RefreshesCounter = Meter.CreateCounter<long>("orleansshards.cache.refreshes", description: "Background refreshes and refresh-ahead reads");
    private static readonly Counter<long> InvalidationsCounter = Meter.CreateCounter<long>("orleansshards.cache.invalidations", description: "Keys tombstoned by invalidation events");
    private static readonly Counter<long> ErrorsCounter = Meter.CreateCounter<long>("orleansshards.cache.errors", description: "Cache store operations that failed (reads fell back to the shard)");
    private static readonly Histogram<double> InvalidationLatencyHistogram = Meter.CreateHistogram<double>("orleansshards.cache.invalidation_latency", unit: "ms",
        description: "Commit to delete latency of invalidations");

    private readonly ConcurrentDictionary<string, TableFigures> _tables = new(StringComparer.Ordinal);

    public Counter<long> Hits => HitsCounter;

    public Counter<long> Misses => MissesCounter;

    public Counter<long> Stale => StaleCounter;

    public Counter<long> Refreshes => RefreshesCounter;

    public Counter<long> Invalidations => InvalidationsCounter;

    public Counter<long> Errors => ErrorsCounter;

    public Histogram<double> InvalidationLatency => InvalidationLatencyHistogram;
    internal void Hit(string shard) => Count(shard, Hits, static f => Interlocked.Increment(ref f.Hits));

    internal void Miss(string shard) => Count(shard, Misses, static f => Interlocked.Increment(ref f.Misses));

    internal void StaleHit(string shard) => Count(shard, Stale, static f => Interlocked.Increment(ref f.Stale));

    internal void Refresh(string shard) => Count(shard, Refreshes, static f => Interlocked.Increment(ref f.Refreshes));

    internal void Error(string shard) => Errors.Add(1, Tag(shard));

    internal void Invalidated(string shard, int keys, double latencyMs)
    {
        var figures = Figures(shard);
        Interlocked.Add(ref figures.Invalidations, keys);
        figures.Latency.Record(latencyMs);
        var tags = Tag(shard);
        Invalidations.Add(keys, tags);
        InvalidationLatency.Record(latencyMs, tags);
    }

    /// <summary>The figures of one table.</summary>
    public CacheStats Snapshot(string shard, Consistency defaultConsistency)
    {
        var f = Figures(shard);
        var (p50, p95, p99) = f.Latency.Percentiles();
        return new CacheStats(
            Interlocked.Read(ref f.Hits),
            Interlocked.Read(ref f.Misses),
            Interlocked.Read(ref f.Stale),
            Interlocked.Read(ref f.Refreshes),
            Interlocked.Read(ref f.Invalidations),
            p50,
            p95,
            p99,
            defaultConsistency);
    }

    internal (double P50, double P95, double P99) LatencyOf(string shard) => Figures(shard).Latency.Percentiles();

    /// <summary>Nothing to release: the instruments belong to the process.</summary>
    public void Dispose()
    {
    }

    private TableFigures Figures(string shard) => _tables.GetOrAdd(shard, static _ => new TableFigures());

    private void Count(string shard, Counter<long> counter, Action<TableFigures> bump)
    {
        bump(Figures(shard));
        counter.Add(1, Tag(shard));
    }

    private static TagList Tag(string shard) => Diagnostics.ShardMetrics.ShardTag(shard);

    private sealed class TableFigures
    {
        public long Hits;
        public long Misses;
        public long Stale;
        public long Refreshes;
        public long Invalidations;

        public LatencyRecorder Latency { get; } = new();
    }
}
