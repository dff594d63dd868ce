using OrleansShards.Silo.Http.Wire;
using static OrleansShards.Silo.Http.ShardRequestContext;

namespace OrleansShards.Silo.Http;

/// <summary>
/// The sharding routes of <c>/v1/tables/{table}</c>: shard, unshard, shards (discover), shards/query, rebalance. They call the
/// table's <see cref="IShardRegistry"/>; failures are thrown and shaped by <see cref="ShardsApi"/>.
/// </summary>
internal static class ShardingEndpoints
{
    public static void Map(RouteGroupBuilder tables, ShardsApi api)
    {
        tables.MapPost("/shard", api.Handle(ShardAsync));
        tables.MapPost("/unshard", api.Handle(UnshardAsync));
        tables.MapGet("/shards", api.Handle(DiscoverAsync));
        tables.MapPost("/shards/query", api.Handle(QueryShardsAsync));
        tables.MapPost("/rebalance", api.Handle(RebalanceAsync));
    }

    private static async Task<IResult> ShardAsync(HttpContext http, string table, ShardRequestContext ctx)
    {
        var body = await ctx.ReadBodyAsync(http, ShardsJsonContext.Default.ShardBody);
        var registry = await ctx.GetRegistryForChangeAsync(http, table, body.TenantId);
        var request = new ShardRequest(body.Key, body.Count ?? 0, body.Strategy ?? ShardStrategies.Hash, body.KeyPath, body.Router, body.OperationId);
        var result = await registry.ShardAsync(request, http.RequestAborted);
        return TypedResults.Json(result, ShardsJsonContext.Default.ShardResult);
    }

    private static async Task<IResult> UnshardAsync(HttpContext http, string table, ShardRequestContext ctx)
    {
        var hasBody = http.Request.ContentLength > 0 || http.Request.Headers.TransferEncoding.Count > 0;
        var body = !hasBody
            ? new UnshardBody()
            : await ctx.ReadBodyAsync(http, ShardsJsonContext.Default.UnshardBody);
        // Without a body the tenant may come from ?tenantId, as on the other body-less POSTs (stats/refresh).
        var tenant = hasBody ? body.TenantId : ShardRequestContext.Single(http.Request.Query, ShardRequestContext.TenantQueryParameter);
        var registry = await ctx.GetRegistryForChangeAsync(http, table, tenant);
        var result = await registry.UnshardAsync(new UnshardRequest(body.OperationId), http.RequestAborted);
        return TypedResults.Json(result, ShardsJsonContext.Default.UnshardResult);
    }

    private static async Task<IResult> DiscoverAsync(HttpContext http, string table, ShardRequestContext ctx)
    {
        var registry = ctx.GetRegistryForQueryString(http, table);
        var result = await registry.DiscoverAsync(http.RequestAborted);
        return TypedResults.Json(result, ShardsJsonContext.Default.ShardDiscovery);
    }

    private static async Task<IResult> QueryShardsAsync(HttpContext http, string table, ShardRequestContext ctx)
    {
        var body = await ctx.ReadBodyAsync(http, ShardsJsonContext.Default.ShardQueryBody);
        var registry = ctx.GetRegistry(http, table, body.TenantId, query: true);
        var request = new ShardQueryRequest(
            Required(body.Query, "query"),
            body.Params,
            body.Aggregation ?? ShardAggregations.Concat,
            NonNegative(body.TimeoutMs, "timeoutMs") ?? NonNegative(body.Timeout, "timeout"),
            body.ContinueOnError ?? false);
        var result = await registry.QueryShardsAsync(request, http.RequestAborted);
        return TypedResults.Json(result, ShardsJsonContext.Default.ShardQueryResult);
    }

    private static async Task<IResult> RebalanceAsync(HttpContext http, string table, ShardRequestContext ctx)
    {
        var body = await ctx.ReadBodyAsync(http, ShardsJsonContext.Default.RebalanceBody);
        var registry = await ctx.GetRegistryForChangeAsync(http, table, body.TenantId);
        var result = await registry.RebalanceAsync(new RebalanceRequest(body.TargetCount, body.MaxSkew, body.Strategy ?? "incremental", body.OperationId), http.RequestAborted);
        return TypedResults.Json(result, ShardsJsonContext.Default.RebalanceResult);
    }
}
