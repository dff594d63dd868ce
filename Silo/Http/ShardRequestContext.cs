using System.Globalization;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;
using OrleansShards.Silo.Hosting;
using OrleansShards.Silo.Security;

namespace OrleansShards.Silo.Http;

/// <summary>
/// What every <c>/v1/tables/{table}</c> handler needs: reading the body, deciding the tenant,
/// checking the API key, and the grain reference of <c>tenant:table</c>.
/// </summary>
internal sealed class ShardRequestContext(
    IGrainFactory grains,
    ApiKeyAuthenticator apiKeys,
    IOptions<ShardsSiloOptions> options,
    TenantRequestLimiter tenantLimits,
    TenantStorageQuota quota)
{
    public const string TenantHeader = "X-Tenant-Id";
    public const string TenantQueryParameter = "tenantId";

    private readonly long _maxBodyBytes = options.Value.MaxRequestBodyBytes;

    /// <summary>Checks the key is a configured one (401 before the body is read), then reads the body.</summary>
    public Task<T> ReadBodyAsync<T>(HttpContext http, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> typeInfo)
        where T : class
    {
        if (apiKeys.Enabled)
        {
            apiKeys.Authenticate(http.Request.Headers.Authorization);
        }

        return RequestBodyReader.ReadAsync(http, typeInfo, _maxBodyBytes);
    }

    /// <summary>
    /// Resolves the tenant (body/query value and <c>X-Tenant-Id</c>; if both are given they must be equal),
    /// validates tenant and table names, checks the API key belongs to the tenant, takes a permit of the tenant's
    /// request limits (<c>OVERLOADED</c> otherwise), and returns the shard.
    /// </summary>
    /// <param name="http">The request.</param>
    /// <param name="table">The route's table.</param>
    /// <param name="requestTenant">The body's or query string's <c>tenantId</c>.</param>
    /// <param name="query">A SQL query: counted against the tenant's query limit too.</param>
    public ITableShard GetShard(HttpContext http, string table, string? requestTenant, bool query = false) =>
        grains.GetGrain<ITableShard>(Admit(http, table, requestTenant, query));

    /// <summary>
    /// As <see cref="GetShard"/> for a write of <paramref name="statements"/>: also refuses it with <c>CAPACITY_EXCEEDED</c>
    /// when the tenant is over its storage quota and a statement may grow it. <c>NoGrowth</c> is true when the tenant is
    /// over its quota and the write was let through as one that frees space: the request carries it, and the shard refuses
    /// the write if it grows after all.
    /// </summary>
    public async Task<(ITableShard Shard, bool NoGrowth)> GetShardForWriteAsync(HttpContext http, string table, string? requestTenant, params IEnumerable<string?> statements)
    {
        var key = Admit(http, table, requestTenant);
        var noGrowth = await quota.EnsureWritableAsync(ShardName.Parse(key).Tenant, statements);
        return (grains.GetGrain<ITableShard>(key), noGrowth);
    }

    /// <summary>
    /// As <see cref="GetShard"/> for a COMMIT: <c>NoGrowth</c> is true when the tenant is at or over its storage quota, so
    /// that the shard refuses a commit that would grow it (its statements may have been queued while under the quota).
    /// </summary>
    public async Task<(ITableShard Shard, bool NoGrowth)> GetShardForCommitAsync(HttpContext http, string table, string? requestTenant)
    {
        var key = Admit(http, table, requestTenant);
        return (grains.GetGrain<ITableShard>(key), await quota.IsOverAsync(ShardName.Parse(key).Tenant));
    }

    /// <summary>
    /// The tenant of a request that names no table (<c>/v1/operations/{id}</c>): <c>X-Tenant-Id</c> or <c>tenantId</c> in the
    /// query string, authorized and admitted like a table's; null when none is sent and API keys are off.
    /// </summary>
    public string? GetTenantForQueryString(HttpContext http)
    {
        if (apiKeys.Enabled)
        {
            apiKeys.Authenticate(http.Request.Headers.Authorization);
        }

        var requestTenant = Single(http.Request.Query, TenantQueryParameter);
        if (!apiKeys.Enabled && string.IsNullOrEmpty(requestTenant) && http.Request.Headers[TenantHeader].Count == 0)
        {
            return null;
        }

        var tenant = ResolveTenant(http, requestTenant);
        apiKeys.Authorize(http.Request.Headers.Authorization, tenant);
        tenantLimits.Enter(http, tenant);
        return tenant;
    }

    /// <summary>
    /// The record of operation <paramref name="id"/> of <paramref name="tenant"/> (null: the operator's); <c>NOT_FOUND</c> for
    /// an id that cannot exist.
    /// </summary>
    public IOperationGrain GetOperation(string? tenant, string id) =>
        OperationIds.IsValid(id) ? grains.GetOperation(tenant, id) : throw new ShardException(ShardErrorCode.NotFound, $"No operation {id}.");

    /// <summary>The checks every <c>/v1/tables</c> request passes; returns the grain key <c>tenant:table</c>.</summary>
    private string Admit(HttpContext http, string table, string? requestTenant, bool query = false)
    {
        var tenant = ResolveTenant(http, requestTenant);
        var key = ShardName.Format(tenant, table);
        ShardName.RejectPartitionName(table);
        apiKeys.Authorize(http.Request.Headers.Authorization, tenant);
        tenantLimits.Enter(http, tenant, query);
        return key;
    }

    /// <summary>For routes about the cluster rather than a tenant (<c>/v1/cluster</c>, drains): an operator key, when keys are configured.</summary>
    /// <summary>
    /// The shard key of a table named on an operator's route (already authenticated as the operator): the tenant from the
    /// body or <c>X-Tenant-Id</c>, not authorized as the tenant's own key would be (the route opens none of its data).
    /// </summary>
    public static string GetShardKeyForOperator(HttpContext http, string table, string? requestTenant)
    {
        var key = ShardName.Format(ResolveTenant(http, requestTenant), table);
        ShardName.RejectPartitionName(table);
        return key;
    }

    public void AuthenticateOperator(HttpContext http) => apiKeys.AuthorizeOperator(http.Request.Headers.Authorization);

    /// <summary>Checks the operator key, then reads the body (the cluster routes that take one).</summary>
    public Task<T> ReadOperatorBodyAsync<T>(HttpContext http, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> typeInfo)
        where T : class
    {
        AuthenticateOperator(http);
        return RequestBodyReader.ReadAsync(http, typeInfo, _maxBodyBytes);
    }

    /// <summary>The tenant of a GET request: <c>X-Tenant-Id</c> or the <c>tenantId</c> query parameter.</summary>
    public ITableShard GetShardForQueryString(HttpContext http, string table)
    {
        if (apiKeys.Enabled)
        {
            apiKeys.Authenticate(http.Request.Headers.Authorization);
        }

        return GetShard(http, table, Single(http.Request.Query, TenantQueryParameter));
    }

    /// <summary>As <see cref="GetShard"/>, for the table's shard registry (the sharding routes).</summary>
    public IShardRegistry GetRegistry(HttpContext http, string table, string? requestTenant, bool query = false) =>
        grains.GetGrain<IShardRegistry>(Admit(http, table, requestTenant, query));

    /// <summary>
    /// As <see cref="GetRegistry"/> for a sharding change (shard, unshard, rebalance): it copies rows and creates files, so a
    /// tenant at or over its storage quota is refused with <c>CAPACITY_EXCEEDED</c>, as for a write that may grow it.
    /// </summary>
    public async Task<IShardRegistry> GetRegistryForChangeAsync(HttpContext http, string table, string? requestTenant)
    {
        var key = Admit(http, table, requestTenant);
        await quota.EnsureWritableAsync(ShardName.Parse(key).Tenant, [ShardingChange]);
        return grains.GetGrain<IShardRegistry>(key);
    }

    /// <summary>What a sharding change counts as for the quota: a statement that may grow the tenant's storage.</summary>
    private const string ShardingChange = "-- shard, unshard or rebalance";

    /// <summary>As <see cref="GetShardForQueryString"/>, for the table's shard registry.</summary>
    public IShardRegistry GetRegistryForQueryString(HttpContext http, string table)
    {
        if (apiKeys.Enabled)
        {
            apiKeys.Authenticate(http.Request.Headers.Authorization);
        }

        return GetRegistry(http, table, Single(http.Request.Query, TenantQueryParameter));
    }

    private static string ResolveTenant(HttpContext http, string? requestTenant)
    {
        var header = http.Request.Headers[TenantHeader];
        if (header.Count > 1)
        {
            throw Invalid($"Send one {TenantHeader} header.");
        }

        var headerTenant = header.Count == 1 ? header[0] : null;
        if (!string.IsNullOrEmpty(headerTenant) && !string.IsNullOrEmpty(requestTenant)
            && !string.Equals(headerTenant, requestTenant, StringComparison.Ordinal))
        {
            throw Invalid($"The tenant in {TenantHeader} and tenantId differ.");
        }

        var tenant = !string.IsNullOrEmpty(requestTenant) ? requestTenant : headerTenant;
        if (string.IsNullOrEmpty(tenant))
        {
            throw Invalid($"The tenant is required: send tenantId or the {TenantHeader} header.");
        }

        ShardName.Validate(tenant, "tenant");
        return tenant;
    }

    /// <summary>One value of a query-string parameter, or null; repeating it is <c>INVALID_ARGUMENT</c>.</summary>
    public static string? Single(IQueryCollection query, string name)
    {
        if (!query.TryGetValue(name, out StringValues values) || values.Count == 0)
        {
            return null;
        }

        return values.Count == 1 ? values[0] : throw Invalid($"The query parameter {name} is repeated.");
    }

    /// <summary>Parses <c>strong</c> | <c>bounded</c> | <c>cached</c> (any case); null stays null.</summary>
    public static Consistency? ParseConsistency(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return null;
        }

        return text.ToLowerInvariant() switch
        {
            "strong" => Consistency.Strong,
            "bounded" => Consistency.Bounded,
            "cached" => Consistency.Cached,
            _ => throw Invalid("consistency must be strong, bounded or cached."),
        };
    }

    /// <summary>A canonical integer string becomes INTEGER; anything else TEXT.</summary>
    public static SqlValue ParseKey(string text) =>
        long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n)
        && string.Equals(n.ToString(CultureInfo.InvariantCulture), text, StringComparison.Ordinal)
            ? SqlValue.FromInteger(n)
            : SqlValue.FromText(text);

    /// <summary>A non-negative integer query parameter.</summary>
    public static long? ParseMilliseconds(string? text, string name)
    {
        if (string.IsNullOrEmpty(text))
        {
            return null;
        }

        return long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var ms)
            ? ms
            : throw Invalid($"{name} must be a non-negative integer.");
    }

    /// <summary>A body's millisecond member: refused when negative, as <see cref="ParseMilliseconds"/> refuses it in a query string.</summary>
    public static T? NonNegative<T>(T? value, string name)
        where T : struct, System.Numerics.INumber<T> =>
        value is { } v && T.IsNegative(v) ? throw Invalid($"{name} must be a non-negative integer.") : value;

    /// <summary>Throws <c>INVALID_ARGUMENT</c> naming a missing member.</summary>
    public static string Required(string? value, string member) =>
        string.IsNullOrEmpty(value) ? throw Invalid($"{member} is required.") : value;

    public static ShardException Invalid(string message) => new(ShardErrorCode.InvalidArgument, message);
}
