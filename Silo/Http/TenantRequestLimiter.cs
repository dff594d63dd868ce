using System.Globalization;
using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;
using OrleansShards.Silo.Hosting;

namespace OrleansShards.Silo.Http;

/// <summary>
/// The per-tenant request limits of <see cref="TenantLimitOptions"/>: ASP.NET Core's rate limiters
/// (<see cref="PartitionedRateLimiter"/>) partitioned by tenant — a concurrency limiter without a queue chained with a
/// token bucket. A refused request answers <c>OVERLOADED</c> (429) with <c>Retry-After</c>; a granted one holds its
/// lease until the response has been sent.
/// </summary>
internal sealed class TenantRequestLimiter : IDisposable
{
    /// <summary>The <c>Retry-After</c> of a request refused by the concurrency limit (whose lease names no time).</summary>
    internal static readonly TimeSpan DefaultRetryAfter = TimeSpan.FromSeconds(1);

    private readonly PartitionedRateLimiter<string>? _limiter;
    private readonly PartitionedRateLimiter<string>[] _parts;
    private readonly PartitionedRateLimiter<string>? _concurrency;
    private readonly int _permits;

    public TenantRequestLimiter(IOptions<TenantLimitOptions> options)
    {
        var limits = options.Value;
        var parts = new List<PartitionedRateLimiter<string>>();
        if (limits.MaxConcurrentRequestsPerTenant > 0)
        {
            parts.Add(PartitionedRateLimiter.Create<string, string>(tenant => RateLimitPartition.GetConcurrencyLimiter(tenant, _ =>
                new ConcurrencyLimiterOptions { PermitLimit = limits.MaxConcurrentRequestsPerTenant, QueueLimit = 0 })));
        }

        if (limits.RequestsPerWindow > 0)
        {
            // Replenished by the partitioned limiter's own timer (GetTokenBucketLimiter turns auto-replenishment off).
            parts.Add(PartitionedRateLimiter.Create<string, string>(tenant => RateLimitPartition.GetTokenBucketLimiter(tenant, _ =>
                new TokenBucketRateLimiterOptions
                {
                    TokenLimit = limits.RequestBurst,
                    TokensPerPeriod = limits.RequestsPerWindow,
                    ReplenishmentPeriod = limits.RequestRateWindow,
                    QueueLimit = 0,
                })));
        }

        _parts = [.. parts];
        _permits = limits.MaxConcurrentRequestsPerTenant;
        _concurrency = limits.MaxConcurrentRequestsPerTenant > 0 ? parts[0] : null;
        _limiter = parts.Count switch
        {
            0 => null,
            1 => parts[0],
            _ => PartitionedRateLimiter.CreateChained([.. parts]),
        };
    }

    /// <summary>Requests of <paramref name="tenant"/> being served now (0 without a concurrency limit).</summary>
    public long InFlight(string tenant) =>
        _concurrency?.GetStatistics(tenant) is { } stats ? _permits - stats.CurrentAvailablePermits : 0;

    /// <summary>
    /// Takes a permit of <paramref name="tenant"/> for the rest of the request (released when the response is done), or
    /// sets <c>Retry-After</c> and throws <c>OVERLOADED</c>.
    /// </summary>
    public void Enter(HttpContext http, string tenant)
    {
        if (_limiter is null)
        {
            return;
        }

        var lease = Acquire(tenant);
        if (lease.IsAcquired)
        {
            http.Response.RegisterForDispose(lease);
            return;
        }

        var retryAfter = lease.TryGetMetadata(MetadataName.RetryAfter, out var after) && after > TimeSpan.Zero ? after : DefaultRetryAfter;
        lease.Dispose();
        http.Response.Headers.RetryAfter = Math.Max(1, (long)Math.Ceiling(retryAfter.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
        throw new ShardException(ShardErrorCode.Overloaded,
            $"Tenant {tenant} is over its request limit (Shards:Limits); retry after {Math.Ceiling(retryAfter.TotalSeconds):0} s.");
    }

    /// <summary>Takes a permit of <paramref name="tenant"/> directly (tests hold slots this way); the caller disposes it.</summary>
    internal RateLimitLease Acquire(string tenant) => _limiter?.AttemptAcquire(tenant) ?? throw new InvalidOperationException("No tenant limit is configured.");

    public void Dispose()
    {
        _limiter?.Dispose();
        foreach (var part in _parts)
        {
            part.Dispose();
        }
    }
}
