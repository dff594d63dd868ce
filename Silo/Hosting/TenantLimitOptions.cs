using System.ComponentModel.DataAnnotations;

namespace OrleansShards.Silo.Hosting;

/// <summary>
/// Per-tenant limits of the HTTP API, bound from <c>Shards:Limits</c>, so that one tenant cannot take the silo from the
/// others. A request over a request limit answers <c>OVERLOADED</c> (429, retryable) with a <c>Retry-After</c> header;
/// a write of a tenant over its storage quota answers <c>CAPACITY_EXCEEDED</c> (507). Zero turns a limit off.
/// The limits are per silo: in a cluster each silo counts the requests it serves and the files it holds.
/// Invalid values fail the host at start (ranges by data annotations through the generated
/// <see cref="TenantLimitOptionsValidator"/>, the rate rules that apply only with a rate limit in <see cref="Validate"/>).
/// </summary>
public sealed class TenantLimitOptions : IValidatableObject
{
    private const string Forever = "10675199.02:48:05.4775807";
    private const string LongMax = "9223372036854775807";

    /// <summary>The configuration section these options are bound from.</summary>
    public const string SectionName = "Shards:Limits";

    /// <summary>
    /// Most <c>/v1</c> requests of one tenant served at once; beyond it the tenant's requests are refused at once (no
    /// queue). Default 128: concurrent writes of a tenant wait cheaply in its shards' group commit, so this only bounds
    /// the memory and connections one tenant can hold. 0: no limit.
    /// </summary>
    [Range(0, int.MaxValue)]
    public int MaxConcurrentRequestsPerTenant { get; set; } = 128;

    /// <summary>
    /// Most SQL queries of one tenant run at once (<c>/query</c> and <c>/shards/query</c>, which can hold a core each for
    /// a whole statement timeout); beyond it they are refused at once. Default 4: on a 2-core silo another tenant's
    /// point selects keep a p99 under 100 ms while one tenant floods 64 heavy queries. 0: no limit.
    /// </summary>
    [Range(0, int.MaxValue)]
    public int MaxConcurrentQueriesPerTenant { get; set; } = 4;

    /// <summary>
    /// Requests one tenant may start per <see cref="RequestRateWindow"/> (a token bucket). Default 5000 — above what one
    /// sequential client reaches on a small silo, below what many clients of one tenant can send. 0: no limit.
    /// </summary>
    [Range(0, int.MaxValue)]
    public int RequestsPerWindow { get; set; } = 5000;

    /// <summary>The window of <see cref="RequestsPerWindow"/>: the bucket gains that many tokens each window. Default 1 s.</summary>
    public TimeSpan RequestRateWindow { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Most requests a tenant may start at once after being idle (the bucket's size). Default 10000.</summary>
    public int RequestBurst { get; set; } = 10_000;

    /// <summary>
    /// Storage quota of one tenant in bytes: the files of all its tables (database, WAL, snapshots) under
    /// <c>{DataDirectory}/{tenant}</c>. At or over it, mutations, batches and DDL are refused with <c>CAPACITY_EXCEEDED</c>,
    /// except statements that free space (<c>DELETE</c>, <c>DROP</c>); reads work. Default 100 GiB. 0: no quota.
    /// </summary>
    [Range(typeof(long), "0", LongMax)]
    public long MaxTenantStorageBytes { get; set; } = 100L * 1024 * 1024 * 1024;

    /// <summary>How long a tenant's measured usage is reused before its files are measured again. Default 5 s.</summary>
    [Range(typeof(TimeSpan), "00:00:00", Forever)]
    public TimeSpan StorageUsageRefresh { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// The rules across fields: with a rate limit (<see cref="RequestsPerWindow"/> above 0), <see cref="RequestRateWindow"/>
    /// must be positive and <see cref="RequestBurst"/> at least 1; without one they are not used.
    /// </summary>
    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (RequestsPerWindow <= 0)
        {
            yield break;
        }

        if (RequestRateWindow <= TimeSpan.Zero)
        {
            yield return new ValidationResult(
                $"{SectionName}:RequestRateWindow must be positive when RequestsPerWindow is set (was {RequestRateWindow}).", [nameof(RequestRateWindow)]);
        }

        if (RequestBurst < 1)
        {
            yield return new ValidationResult(
                $"{SectionName}:RequestBurst must be at least 1 when RequestsPerWindow is set (was {RequestBurst}).", [nameof(RequestBurst)]);
        }
    }
}
