using OrleansShards.Client.Http.Wire;

namespace OrleansShards.Client.Http;

/// <summary>
/// <see cref="IShardRegistry"/> over the sharding routes of <c>/v1/tables/{table}</c>: <c>shard</c>, <c>unshard</c>,
/// <c>shards</c> (discover), <c>shards/query</c> and <c>rebalance</c>. The tenant is sent as <c>tenantId</c> in POST
/// bodies and as <c>X-Tenant-Id</c> on every request.
/// </summary>
/// <remarks>
/// Retries: <see cref="DiscoverAsync"/>, <see cref="IsShardedAsync"/> and <see cref="QueryShardsAsync"/> are reads and are
/// retried like other reads. Shard, unshard and rebalance are sent once (only a failure to connect, when nothing reached
/// a silo, is retried): they carry no idempotency key, and repeating one whose answer was lost would fail
/// (<c>already sharded</c>, <c>not sharded</c>, <c>an operation in progress</c>) or rebalance a second time. Their
/// attempts are limited by <see cref="ShardsClientOptions.OperationTimeout"/> instead of <see cref="ShardsClientOptions.Timeout"/>.
/// </remarks>
internal sealed class HttpShardRegistry : IShardRegistry
{
    /// <summary>Added to a cross-shard query's own per-shard limit so the silo's <c>TIMEOUT</c> answer arrives before ours.</summary>
    private static readonly TimeSpan QueryTimeoutMargin = TimeSpan.FromSeconds(5);

    private readonly ShardsHttpTransport _transport;
    private readonly ShardsClientOptions _options;
    private readonly string _tenant;
    private readonly string _routeBase;

    public HttpShardRegistry(ShardsHttpTransport transport, ShardsClientOptions options, string tenant, string table)
    {
        _transport = transport;
        _options = options;
        _tenant = tenant;
        _routeBase = "v1/tables/" + table + "/";
    }

    private AttemptTimeout OperationTimeout => new(_options.OperationTimeout, "ShardsClientOptions.OperationTimeout");

    public Task<ShardResult> ShardAsync(ShardRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var body = new ShardBody(_tenant, request.Key, request.Count, request.Strategy, request.KeyPath, request.Router, request.OperationId);
        return _transport.PostAsync(
            _tenant, _routeBase + "shard", body, ClientJsonContext.Default.ShardBody, ClientJsonContext.Default.ShardResult,
            safeToRetry: false, OperationTimeout, cancellationToken);
    }

    public Task<UnshardResult> UnshardAsync(CancellationToken cancellationToken = default) => UnshardAsync(new UnshardRequest(), cancellationToken);

    public Task<UnshardResult> UnshardAsync(UnshardRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        return _transport.PostAsync(
            _tenant, _routeBase + "unshard", new UnshardBody(_tenant, request.OperationId), ClientJsonContext.Default.UnshardBody, ClientJsonContext.Default.UnshardResult,
            safeToRetry: false, OperationTimeout, cancellationToken);
    }

    public async Task<bool> IsShardedAsync(CancellationToken cancellationToken = default) =>
        (await DiscoverAsync(cancellationToken).ConfigureAwait(false)).Sharded;

    public Task<ShardDiscovery> DiscoverAsync(CancellationToken cancellationToken = default) =>
        _transport.GetAsync(_tenant, _routeBase + "shards", ClientJsonContext.Default.ShardDiscovery, cancellationToken);

    public async Task<ShardQueryResult> QueryShardsAsync(ShardQueryRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var body = new ShardQueryBody(_tenant, request.Query, request.Params, request.Aggregation, request.TimeoutMs, request.ContinueOnError);

        // The per-shard limit may exceed the client's: wait for the silo's answer (or its TIMEOUT) that long.
        var timeout = _transport.DefaultTimeout;
        if (request.TimeoutMs is { } ms && ms > 0 && timeout.Limit != Timeout.InfiniteTimeSpan
            && TimeSpan.FromMilliseconds(ms) + QueryTimeoutMargin > timeout.Limit)
        {
            timeout = new AttemptTimeout(TimeSpan.FromMilliseconds(ms) + QueryTimeoutMargin, "ShardQueryRequest.TimeoutMs + 5 s");
        }

        var result = await _transport.PostAsync(
            _tenant, _routeBase + "shards/query", body, ClientJsonContext.Default.ShardQueryBody, ClientJsonContext.Default.ShardQueryResult,
            safeToRetry: true, timeout, cancellationToken).ConfigureAwait(false);

        // JSON null cannot tell SQL NULL from "no value": count and avg always have one (NULL for the avg of no value).
        return result.Value is null && result.Aggregation is ShardAggregations.Count or ShardAggregations.Avg
            ? result with { Value = SqlValue.Null }
            : result;
    }

    public Task<RebalanceResult> RebalanceAsync(RebalanceRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var body = new RebalanceBody(_tenant, request.TargetCount, request.MaxSkew, request.Strategy, request.OperationId);
        return _transport.PostAsync(
            _tenant, _routeBase + "rebalance", body, ClientJsonContext.Default.RebalanceBody, ClientJsonContext.Default.RebalanceResult,
            safeToRetry: false, OperationTimeout, cancellationToken);
    }
}
