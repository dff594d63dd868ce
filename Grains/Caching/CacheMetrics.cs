using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace OrleansShards.Grains.Caching;

/// <summary>
/// The cache meter <c>OrleansShards.Cache</c> (exported at <c>/metrics</c>) and the per-table figures
/// reported in <see cref="ShardStats.Cache"/>. Instruments are tagged with <c>shard</c>.
/// Figures survive the shard's deactivation (they belong to the silo).
/// </summary>
public sealed class CacheMetrics : IDisposable
{
    /// <summary>The meter name.</summary>
    public const string MeterName = "OrleansShards.Cache";

    private readonly Meter _meter;
    private readonly ConcurrentDictionary<string, TableFigures> _tables = new(StringComparer.Ordinal);

    public CacheMetrics(IMeterFactory meterFactory)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        _meter = meterFactory.Create(MeterName);
        Hits = _meter.CreateCounter<long>("orleansshards.cache.hits", description: "Reads answered by a fresh cache entry");
        Misses = _meter.CreateCounter<long>("orleansshards.cache.misses", description: "Reads that went to the shard");
        Stale = _meter.CreateCounter<long>("orleansshards.cache.stale", description: "Reads answered in the stale-while-revalidate window");
        Refreshes = _meter.CreateCounter<long>("orleansshards.cache.refreshes", description: "Background refreshes and refresh-ahead reads");
        Invalidations = _meter.CreateCounter<long>("orleansshards.cache.invalidations", description: "Keys tombstoned by invalidation events");
        Errors = _meter.CreateCounter<long>("orleansshards.cache.errors", description: "Cache store operations that failed (reads fell back to the shard)");
        InvalidationLatency = _meter.CreateHistogram<double>("orleansshards.cache.invalidation_latency", unit: "ms",
            description: "Commit to delete latency of invalidations");
    }

    public Counter<long> Hits { get; }

    public Counter<long> Misses { get; }

    public Counter<long> Stale { get; }

    public Counter<long> Refreshes { get; }

    public Counter<long> Invalidations { get; }

    public Counter<long> Errors { get; }

    public Histogram<double> InvalidationLatency { get; }

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

    public void Dispose() => _meter.Dispose();

    private TableFigures Figures(string shard) => _tables.GetOrAdd(shard, static _ => new TableFigures());

    private void Count(string shard, Counter<long> counter, Action<TableFigures> bump)
    {
        bump(Figures(shard));
        counter.Add(1, Tag(shard));
    }

    private static TagList Tag(string shard) => new() { { "shard", shard } };

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
