namespace OrleansShards.Grains.Diagnostics;

/// <summary>
/// What the shards' meters export, bound from the configuration section <c>Shards:Metrics</c>. Every default is stated.
/// </summary>
public sealed class ShardMetricsOptions
{
    /// <summary>The configuration section these options are bound from.</summary>
    public const string SectionName = "Shards:Metrics";

    /// <summary>
    /// When true, the shard and cache series also carry a <c>shard</c> (<c>tenant:table</c>) label, so their number
    /// grows with every table the silo touched. Default false: series are per tenant (<c>tenant</c> label).
    /// </summary>
    public bool PerShardTags { get; set; }

    /// <summary>
    /// When set, metrics are also pushed with OTLP (gRPC) to this address, e.g. <c>http://collector:4317</c>,
    /// besides the Prometheus text at <c>/metrics</c>. Read by the silo host when it starts. Default null (no push).
    /// </summary>
    public Uri? OtlpEndpoint { get; set; }
}
