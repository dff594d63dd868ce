using OrleansShards.Silo.Http.Wire;

namespace OrleansShards.Silo.Http;

/// <summary>
/// <c>GET /v1/operations/{id}</c>: the record of a long operation (restore, shard, unshard, rebalance) while it runs and
/// after (see <see cref="IOperationGrain"/>). An operation of a tenant is visible to that tenant only (the same tenant and
/// key rules as the table routes); another tenant's, or an unknown id, is <c>NOT_FOUND</c>.
/// </summary>
internal static class OperationEndpoints
{
    public static void Map(RouteGroupBuilder v1, ShardsApi api) =>
        v1.MapGet("/operations/{id}", api.Handle(GetAsync));

    private static async Task<IResult> GetAsync(HttpContext http, string table, ShardRequestContext ctx)
    {
        var id = http.Request.RouteValues["id"] as string ?? string.Empty;
        var info = await ctx.GetOperation(id).GetAsync();
        if (info is { Tenant: null })
        {
            // An operator's operation (a drain): the operator key, not a tenant's.
            ctx.AuthenticateOperator(http);
            return Answer(info);
        }

        var tenant = ctx.GetTenantForQueryString(http);
        if (info is null || (info.Tenant is not null && !string.Equals(info.Tenant, tenant, StringComparison.Ordinal)))
        {
            throw new ShardException(ShardErrorCode.NotFound, $"No operation {id}" + (tenant is null && info is not null ? "; name its tenant (X-Tenant-Id)." : "."));
        }

        return Answer(info);
    }

    private static IResult Answer(OperationInfo info)
    {
        var error = info.Error is { } e ? new ErrorDetail(e.Code, e.Message, ShardErrorCodes.FromWire(e.Code).IsRetryable()) : null;
        return TypedResults.Json(
            new OperationResponse(info.Id, info.Kind, info.Target, info.State, info.Phase, info.Done, info.Total, info.StartedAt, info.EndedAt, error),
            ShardsJsonContext.Default.OperationResponse);
    }
}
