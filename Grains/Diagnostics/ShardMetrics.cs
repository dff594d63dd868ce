using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace OrleansShards.Grains.Diagnostics;

/// <summary>
/// The shard meter <c>OrleansShards.TableShards</c>. Every instrument is tagged with <c>shard</c>
/// (<c>tenant:table</c>); errors also with <c>code</c> (the API error code). <c>/metrics</c> exports
/// them in Prometheus text format.
/// </summary>
public sealed class ShardMetrics : IDisposable
{
    /// <summary>The meter name.</summary>
    public const string MeterName = "OrleansShards.TableShards";

    private readonly Meter _meter;
    private readonly Func<IEnumerable<Measurement<long>>> _capacity;

    /// <summary>Creates the instruments; <paramref name="capacity"/> reports each live shard's size.</summary>
    public ShardMetrics(IMeterFactory meterFactory, ShardCapacityRegistry capacity)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        ArgumentNullException.ThrowIfNull(capacity);
        _meter = meterFactory.Create(MeterName);
        Statements = _meter.CreateCounter<long>("orleansshards.shard.statements", description: "Statements executed");
        RowsRead = _meter.CreateCounter<long>("orleansshards.shard.rows_read", description: "Rows read by SQLite");
        RowsWritten = _meter.CreateCounter<long>("orleansshards.shard.rows_written", description: "Rows written");
        Commits = _meter.CreateCounter<long>("orleansshards.shard.commits", description: "SQLite transactions committed");
        Errors = _meter.CreateCounter<long>("orleansshards.shard.errors", description: "Errors by API code");
        PlanCacheHits = _meter.CreateCounter<long>("orleansshards.shard.plan_cache_hits", description: "Prepared statement cache hits");
        PlanCacheMisses = _meter.CreateCounter<long>("orleansshards.shard.plan_cache_misses", description: "Prepared statement cache misses");
        GroupCommitSize = _meter.CreateHistogram<long>("orleansshards.shard.group_commit_size", description: "Mutations per SQLite transaction");
        _capacity = capacity.Measure;
        _meter.CreateObservableGauge("orleansshards.shard.capacity_bytes", _capacity, unit: "By", description: "Shard size in bytes");
    }

    public Counter<long> Statements { get; }

    public Counter<long> RowsRead { get; }

    public Counter<long> RowsWritten { get; }

    public Counter<long> Commits { get; }

    public Counter<long> Errors { get; }

    public Counter<long> PlanCacheHits { get; }

    public Counter<long> PlanCacheMisses { get; }

    public Histogram<long> GroupCommitSize { get; }

    /// <summary>The tag list of one shard.</summary>
    public static TagList ShardTag(string shard) => new() { { "shard", shard } };

    /// <inheritdoc />
    public void Dispose() => _meter.Dispose();
}
