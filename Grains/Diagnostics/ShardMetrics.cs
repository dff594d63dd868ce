using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Options;

namespace OrleansShards.Grains.Diagnostics;

/// <summary>
/// The shard meter <c>OrleansShards.TableShards</c>. Every instrument is tagged with <c>tenant</c> and <c>shard</c>
/// (<c>tenant:table</c>); errors also with <c>code</c> (the API error code); long operations with <c>operation</c> and
/// <c>outcome</c>. The silo exports the <c>shard</c> tag only when <see cref="ShardMetricsOptions.PerShardTags"/> is
/// set, so by default series are per tenant and do not grow with every table ever touched.
/// </summary>
/// <remarks>
/// The meter and its instruments exist once per process, like the runtime's own: OpenTelemetry identifies an
/// instrument by its meter's and its own name, so when several hosts in one process (tests, co-hosted apps) each made
/// their own meter, the first host to stop retired the series of all the others. The capacity gauges sum the live
/// shards of every host of the process (one silo per process in production).
/// </remarks>
public sealed class ShardMetrics : IDisposable
{
    /// <summary>The meter name.</summary>
    public const string MeterName = "OrleansShards.TableShards";

    /// <summary>The tag naming the tenant.</summary>
    public const string TenantTag = "tenant";

    /// <summary>The tag naming the shard (<c>tenant:table</c>); exported only with <see cref="ShardMetricsOptions.PerShardTags"/>.</summary>
    public const string ShardTagName = "shard";

    private static readonly Meter Meter = new(MeterName);
    private static readonly ConcurrentDictionary<ShardMetrics, bool> Live = new();
    private static readonly Counter<long> StatementsCounter = Meter.CreateCounter<long>("orleansshards.shard.statements", description: "Statements executed");
    private static readonly Counter<long> RowsReadCounter = Meter.CreateCounter<long>("orleansshards.shard.rows_read", description: "Rows read by SQLite");
    private static readonly Counter<long> RowsWrittenCounter = Meter.CreateCounter<long>("orleansshards.shard.rows_written", description: "Rows written");
    private static readonly Counter<long> CommitsCounter = Meter.CreateCounter<long>("orleansshards.shard.commits", description: "SQLite transactions committed");
    private static readonly Counter<long> ErrorsCounter = Meter.CreateCounter<long>("orleansshards.shard.errors", description: "Errors by API code");
    private static readonly Counter<long> PlanCacheHitsCounter = Meter.CreateCounter<long>("orleansshards.shard.plan_cache_hits", description: "Prepared statement cache hits");
    private static readonly Counter<long> PlanCacheMissesCounter = Meter.CreateCounter<long>("orleansshards.shard.plan_cache_misses", description: "Prepared statement cache misses");
    private static readonly Histogram<long> GroupCommitSizeHistogram = Meter.CreateHistogram<long>("orleansshards.shard.group_commit_size", description: "Mutations per SQLite transaction");
    private static readonly Histogram<double> OperationDurationHistogram = Meter.CreateHistogram<double>("orleansshards.operation.duration", unit: "s",
        description: "Duration of restore, shard, unshard and rebalance operations, by operation and outcome");

    private readonly ShardCapacityRegistry _capacity;
    private readonly bool _perShard;

    static ShardMetrics()
    {
        Meter.CreateObservableGauge("orleansshards.shard.capacity_bytes", MeasureCapacity, unit: "By",
            description: "Size of the live shards in bytes (per tenant; per shard with PerShardTags)");
        Meter.CreateObservableGauge("orleansshards.shard.active", static () => Live.Keys.Sum(m => m._capacity.Count),
            description: "Live (activated) shards");
    }

    /// <summary>Joins the process's instruments; <paramref name="capacity"/> reports this host's live shards to the capacity gauges.</summary>
    public ShardMetrics(ShardCapacityRegistry capacity, IOptions<ShardMetricsOptions> options)
    {
        ArgumentNullException.ThrowIfNull(capacity);
        ArgumentNullException.ThrowIfNull(options);
        _capacity = capacity;
        _perShard = options.Value.PerShardTags;
        Live[this] = true;
    }

    public Counter<long> Statements => StatementsCounter;

    public Counter<long> RowsRead => RowsReadCounter;

    public Counter<long> RowsWritten => RowsWrittenCounter;

    public Counter<long> Commits => CommitsCounter;

    public Counter<long> Errors => ErrorsCounter;

    public Counter<long> PlanCacheHits => PlanCacheHitsCounter;

    public Counter<long> PlanCacheMisses => PlanCacheMissesCounter;

    public Histogram<long> GroupCommitSize => GroupCommitSizeHistogram;

    /// <summary>Seconds a long operation took; tags <c>operation</c> (<c>restore</c>, <c>shard</c>, <c>unshard</c>, <c>rebalance</c>), <c>outcome</c> (<c>ok</c>, <c>failed</c>) and <c>tenant</c>.</summary>
    public Histogram<double> OperationDuration => OperationDurationHistogram;

    /// <summary>The tag list of one shard: its tenant and the shard itself.</summary>
    public static TagList ShardTag(string shard) => new() { { TenantTag, TenantOf(shard) }, { ShardTagName, shard } };

    /// <summary>The tenant part of <c>tenant:table</c>.</summary>
    public static string TenantOf(string shard)
    {
        ArgumentNullException.ThrowIfNull(shard);
        var colon = shard.IndexOf(':', StringComparison.Ordinal);
        return colon < 0 ? shard : shard[..colon];
    }

    /// <summary>Leaves the capacity gauges (the host stopped).</summary>
    public void Dispose() => Live.TryRemove(this, out _);

    private static IEnumerable<Measurement<long>> MeasureCapacity() =>
        Live.Keys.SelectMany(static m => m._capacity.Measure(m._perShard)).ToList();
}
