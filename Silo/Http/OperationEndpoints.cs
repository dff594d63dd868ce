using OrleansShards.Silo.Http.Wire;

namespace OrleansShards.Silo.Http;

/// <summary>
/// <c>GET /v1/operations/{id}</c>: the record of a long operation (restore, shard, unshard, rebalance) while it runs and
/// after (see <see cref="IOperationGrain"/>). Ids are scoped by tenant: a request naming a tenant (the same tenant and key
/// rules as the table routes) sees that tenant's operations only; one naming none sees the cluster's (drains, cluster
/// rebalances; operator key). An unknown id is <c>NOT_FOUND</c>.
/// </summary>
internal static class OperationEndpoints
{
    public static void Map(RouteGroupBuilder v1, ShardsApi api) =>
        v1.MapGet("/operations/{id}", api.Handle(GetAsync));

    private static async Task<IResult> GetAsync(HttpContext http, string table, ShardRequestContext ctx)
    {
        var id = http.Request.RouteValues["id"] as string ?? string.Empty;
        if (!NamesTenant(http))
        {
            // No tenant named: an operation of the cluster (a drain, a cluster rebalance), for the operator key.
            try
            {
                ctx.AuthenticateOperator(http);
            }
            catch (ShardException ex) when (ex.Code == ShardErrorCode.Forbidden)
            {
                throw new ShardException(ShardErrorCode.InvalidArgument,
                    $"The tenant is required: send tenantId or the {ShardRequestContext.TenantHeader} header (an operation of the cluster needs an operator key).");
            }

            return await ctx.GetOperation(tenant: null, id).GetAsync() is { } operation
                ? Answer(operation)
                : throw new ShardException(ShardErrorCode.NotFound,
                    $"No operation {id} of the cluster; a tenant's operation is found under its tenant ({ShardRequestContext.TenantHeader}).");
        }

        // Ids are scoped by tenant: only this tenant's records are looked at (another tenant's same id is not seen).
        var tenant = ctx.GetTenantForQueryString(http)!;
        return await ctx.GetOperation(tenant, id).GetAsync() is { } info
            ? Answer(info)
            : throw new ShardException(ShardErrorCode.NotFound, $"No operation {id}.");
    }

    private static bool NamesTenant(HttpContext http) =>
        http.Request.Query.ContainsKey(ShardRequestContext.TenantQueryParameter) || http.Request.Headers.ContainsKey(ShardRequestContext.TenantHeader);

    private static IResult Answer(OperationInfo info)
    {
        var error = info.Error is { } e ? new ErrorDetail(e.Code, e.Message, ShardErrorCodes.FromWire(e.Code).IsRetryable()) : null;
        return TypedResults.Json(
            new OperationResponse(info.Id, info.Kind, info.Target, info.State, info.Phase, info.Done, info.Total, info.StartedAt, info.EndedAt, error),
            ShardsJsonContext.Default.OperationResponse);
    }
}
