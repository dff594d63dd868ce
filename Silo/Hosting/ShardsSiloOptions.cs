namespace OrleansShards.Silo.Hosting;

/// <summary>
/// Options of the silo host, bound from the configuration section <c>Shards</c>. Every default is
/// stated; invalid values fail the host at start with a message naming the option.
/// </summary>
public sealed class ShardsSiloOptions
{
    /// <summary>The configuration section these options are bound from.</summary>
    public const string SectionName = "Shards";

    /// <summary>Environment variable (and top-level configuration key) giving the shard size limit in GB.</summary>
    public const string MaxShardSizeGbVariable = "MAX_SHARD_SIZE_GB";

    /// <summary>
    /// Root of every shard file (<c>{DataDirectory}/{tenant}/{table}.db</c>) and of the silo's own files
    /// (<c>{DataDirectory}/.silo/reminders.db</c>). Relative paths are under the working directory. Default <c>./data</c>.
    /// </summary>
    public string DataDirectory { get; set; } = "data";

    /// <summary>
    /// Size limit of one shard in GB (2^30 bytes). Default 10. <c>MAX_SHARD_SIZE_GB</c> sets it when
    /// <c>Shards:MaxShardSizeGb</c> is not configured.
    /// </summary>
    public double MaxShardSizeGb { get; set; } = 10;

    /// <summary>Exact size limit of one shard in bytes; overrides <see cref="MaxShardSizeGb"/> when set (tests use tiny limits). Default null.</summary>
    public long? MaxShardSizeBytes { get; set; }

    /// <summary>Largest accepted request body in bytes; larger bodies answer <c>PAYLOAD_TOO_LARGE</c> (413). Default 1 MB.</summary>
    public long MaxRequestBodyBytes { get; set; } = 1024 * 1024;

    /// <summary>
    /// Most <c>/v1</c> requests served at once by this silo; beyond it requests are refused at once
    /// (no queue) with <c>OVERLOADED</c> (429). Default 512.
    /// </summary>
    public int MaxConcurrentRequests { get; set; } = 512;

    /// <summary>
    /// API keys. When empty, requests are not authenticated and the standalone silo listens on loopback only.
    /// When not empty, every <c>/v1</c> request needs <c>Authorization: Bearer &lt;key&gt;</c> with a key of the request's tenant.
    /// </summary>
    public IList<ApiKeyOptions> ApiKeys { get; } = [];

    /// <summary>
    /// Operator keys. When any API or operator key is configured, <c>/metrics</c> and <c>/dashboard</c> need
    /// <c>Authorization: Bearer &lt;operator key&gt;</c> (a tenant's key is refused). Default none.
    /// </summary>
    public IList<OperatorKeyOptions> OperatorKeys { get; } = [];

    /// <summary>
    /// Maps the Orleans Dashboard at <c>/dashboard</c> (the standalone silo adds its services; a co-hosted app calls
    /// <c>silo.AddDashboard()</c> itself). Default true.
    /// </summary>
    public bool Dashboard { get; set; } = true;

    /// <summary>
    /// Serve the HTTP API without API keys on addresses other than loopback. Default false: without keys, a silo or
    /// co-hosted app that listens beyond loopback fails its start (and a request arriving on such an address answers
    /// <c>UNAUTHENTICATED</c>); when true, it starts and logs a warning naming the addresses.
    /// </summary>
    public bool AllowAnonymous { get; set; }

    /// <summary>The effective shard size limit in bytes.</summary>
    public long EffectiveMaxShardSizeBytes =>
        MaxShardSizeBytes ?? (long)Math.Min(long.MaxValue, MaxShardSizeGb * 1024 * 1024 * 1024);
}
