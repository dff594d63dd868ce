using System.Globalization;
using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;
using OrleansShards.Silo.Hosting;

namespace OrleansShards.Silo.Http;

/// <summary>
/// The per-tenant request limits of <see cref="TenantLimitOptions"/>: ASP.NET Core's rate limiters
/// (<see cref="PartitionedRateLimiter"/>) partitioned by tenant — concurrency limiters without a queue (all requests;
/// SQL queries apart) chained with a token bucket. A refused request answers <c>OVERLOADED</c> (429) with
/// <c>Retry-After</c>; a granted one holds its leases until the response has been sent.
/// </summary>
internal sealed class TenantRequestLimiter : IDisposable
{
    /// <summary>The <c>Retry-After</c> of a request refused by a concurrency limit (whose lease names no time).</summary>
    internal static readonly TimeSpan DefaultRetryAfter = TimeSpan.FromSeconds(1);

    private readonly List<PartitionedRateLimiter<string>> _owned = [];
    private readonly PartitionedRateLimiter<string>? _requests;
    private readonly PartitionedRateLimiter<string>? _other;
    private readonly PartitionedRateLimiter<string>? _queries;
    private readonly int _permits;

    public TenantRequestLimiter(IOptions<TenantLimitOptions> options)
    {
        var limits = options.Value;
        _permits = limits.MaxConcurrentRequestsPerTenant;
        _requests = limits.MaxConcurrentRequestsPerTenant > 0 ? Concurrency(limits.MaxConcurrentRequestsPerTenant) : null;
        var queries = limits.MaxConcurrentQueriesPerTenant > 0 ? Concurrency(limits.MaxConcurrentQueriesPerTenant) : null;
        var rate = limits.RequestsPerWindow > 0
            ? Own(PartitionedRateLimiter.Create<string, string>(tenant => RateLimitPartition.GetTokenBucketLimiter(tenant, _ =>
                new TokenBucketRateLimiterOptions
                {
                    // Replenished by the partitioned limiter's own timer (GetTokenBucketLimiter turns auto-replenishment off).
                    TokenLimit = limits.RequestBurst,
                    TokensPerPeriod = limits.RequestsPerWindow,
                    ReplenishmentPeriod = limits.RequestRateWindow,
                    QueueLimit = 0,
                })))
            : null;
        _other = Chain(_requests, rate);
        _queries = Chain(_requests, queries, rate);
    }

    /// <summary>Requests of <paramref name="tenant"/> being served now (0 without a request concurrency limit).</summary>
    public long InFlight(string tenant) =>
        _requests?.GetStatistics(tenant) is { } stats ? _permits - stats.CurrentAvailablePermits : 0;

    /// <summary>
    /// Takes the permits of <paramref name="tenant"/> for the rest of the request (released when the response is done),
    /// or sets <c>Retry-After</c> and throws <c>OVERLOADED</c>. <paramref name="query"/>: a SQL query, under the query limit too.
    /// </summary>
    public void Enter(HttpContext http, string tenant, bool query = false)
    {
        if ((query ? _queries : _other) is not { } limiter)
        {
            return;
        }

        var lease = limiter.AttemptAcquire(tenant);
        if (lease.IsAcquired)
        {
            http.Response.RegisterForDispose(lease);
            return;
        }

        var retryAfter = lease.TryGetMetadata(MetadataName.RetryAfter, out var after) && after > TimeSpan.Zero ? after : DefaultRetryAfter;
        lease.Dispose();
        var seconds = Math.Max(1, (long)Math.Ceiling(retryAfter.TotalSeconds));
        http.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
        throw new ShardException(ShardErrorCode.Overloaded,
            $"Tenant {tenant} is over its {(query ? "query limits (concurrent queries, concurrent requests or request rate" : "request limits (concurrent requests or request rate")}, Shards:Limits); retry after {seconds} s.");
    }

    /// <summary>Takes a request permit of <paramref name="tenant"/> directly (tests hold slots this way); the caller disposes it.</summary>
    internal RateLimitLease Acquire(string tenant) => _other?.AttemptAcquire(tenant) ?? throw new InvalidOperationException("No tenant limit is configured.");

    public void Dispose()
    {
        foreach (var limiter in _owned)
        {
            limiter.Dispose();
        }
    }

    private PartitionedRateLimiter<string> Concurrency(int permits) =>
        Own(PartitionedRateLimiter.Create<string, string>(tenant => RateLimitPartition.GetConcurrencyLimiter(tenant, _ =>
            new ConcurrencyLimiterOptions { PermitLimit = permits, QueueLimit = 0 })));

    private PartitionedRateLimiter<string>? Chain(params PartitionedRateLimiter<string>?[] limiters)
    {
        var present = limiters.OfType<PartitionedRateLimiter<string>>().ToArray();
        return present.Length switch
        {
            0 => null,
            1 => present[0],
            _ => Own(PartitionedRateLimiter.CreateChained(present)),
        };
    }

    private PartitionedRateLimiter<string> Own(PartitionedRateLimiter<string> limiter)
    {
        _owned.Add(limiter);
        return limiter;
    }
}
