using OrleansShards.Grains.Cluster;
using OrleansShards.Silo.Http.Wire;

namespace OrleansShards.Silo.Http;

/// <summary>
/// <c>GET /v1/cluster</c>, <c>POST /v1/cluster/drain</c>, <c>POST /v1/cluster/rebalance</c> and
/// <c>GET /v1/tables/{table}/placement</c> and <c>POST /v1/tables/{table}/move</c>.
/// </summary>
internal static class ClusterEndpoints
{
    public static void Map(RouteGroupBuilder v1, RouteGroupBuilder tables, ShardsApi api)
    {
        v1.MapGet("/cluster", api.Handle(ClusterAsync));
        v1.MapPost("/cluster/drain", api.Handle(DrainAsync));
        v1.MapPost("/cluster/rebalance", api.Handle(RebalanceAsync));
        tables.MapGet("/placement", api.Handle(PlacementAsync));
        tables.MapPost("/move", api.Handle(MoveAsync));
    }

    private static async Task<IResult> PlacementAsync(HttpContext http, string table, ShardRequestContext ctx)
    {
        var shard = ctx.GetShardForQueryString(http, table);
        var placement = await shard.GetPlacementAsync(http.RequestAborted);
        return TypedResults.Json(placement, ShardsJsonContext.Default.ShardPlacementInfo);
    }

    /// <summary>
    /// Moves one table's primary copy to the named silo, online (as a drain moves each of its shards), and answers when
    /// the hand-over is done. The operator's route: it names the tenant but opens none of its data.
    /// </summary>
    private static async Task<IResult> MoveAsync(HttpContext http, string table, ShardRequestContext ctx)
    {
        var body = await ctx.ReadOperatorBodyAsync(http, ShardsJsonContext.Default.MoveBody);
        var silo = ShardRequestContext.Required(body.Silo, "silo");
        var shard = ShardRequestContext.GetShardKeyForOperator(http, table, body.TenantId);
        var services = http.RequestServices;
        var ownership = services.GetRequiredService<IShardOwnership>();
        if (!ownership.IsDistributed)
        {
            throw new ShardException(ShardErrorCode.InvalidArgument, "Moving a table needs cluster mode (Shards:Cluster:Redis).");
        }

        var view = services.GetRequiredService<ClusterView>();
        if (!view.Members().Any(m => string.Equals(m.Name, silo, StringComparison.Ordinal)))
        {
            throw new ShardException(ShardErrorCode.InvalidArgument, $"No silo named '{silo}' is a member of the cluster.");
        }

        if (await ownership.GetAsync(shard, http.RequestAborted) is null)
        {
            throw new ShardException(ShardErrorCode.NotFound, $"No table {table}.");
        }

        var moved = await services.GetRequiredService<IGrainFactory>().GetGrain<IShardMove>(shard).MoveToAsync(silo, http.RequestAborted);
        return TypedResults.Json(new MoveResponse(table, moved.From, moved.To, moved.Epoch, moved.Bytes, Math.Round(moved.StallMs, 3)), ShardsJsonContext.Default.MoveResponse);
    }

    /// <summary>Starts moving every primary off a silo; answers the operation id.</summary>
    private static async Task<IResult> DrainAsync(HttpContext http, string table, ShardRequestContext ctx)
    {
        var body = await ctx.ReadOperatorBodyAsync(http, ShardsJsonContext.Default.DrainBody);
        var silo = ShardRequestContext.Required(body.Silo, "silo");
        var id = OperationIds.New();
        var started = await http.RequestServices.GetRequiredService<IGrainFactory>().GetGrain<IDrainGrain>(id).StartAsync(silo);
        return TypedResults.Json(new DrainResponse(started.Id, started.State), ShardsJsonContext.Default.DrainResponse, statusCode: StatusCodes.Status202Accepted);
    }

    /// <summary>Starts evening out the silos' primaries; answers the operation id.</summary>
    private static async Task<IResult> RebalanceAsync(HttpContext http, string table, ShardRequestContext ctx)
    {
        var body = await ctx.ReadOperatorBodyAsync(http, ShardsJsonContext.Default.ClusterRebalanceBody);
        var id = OperationIds.New();
        var started = await http.RequestServices.GetRequiredService<IGrainFactory>().GetGrain<IClusterRebalanceGrain>(id).StartAsync(body.MaxSkew ?? 1);
        return TypedResults.Json(new DrainResponse(started.Id, started.State), ShardsJsonContext.Default.DrainResponse, statusCode: StatusCodes.Status202Accepted);
    }

    /// <summary>Every silo by name (its newest generation), with its status and the numbers of primaries and replicas it holds.</summary>
    private static async Task<IResult> ClusterAsync(HttpContext http, string table, ShardRequestContext ctx)
    {
        ctx.AuthenticateOperator(http);
        var services = http.RequestServices;
        var view = services.GetRequiredService<ClusterView>();
        var ownership = services.GetRequiredService<IShardOwnership>();
        var entries = await ownership.ListAsync(cancellationToken: http.RequestAborted);
        var primaries = entries.GroupBy(e => e.Owner.Primary, StringComparer.Ordinal).ToDictionary(g => g.Key, g => (long)g.Count(), StringComparer.Ordinal);
        var replicas = entries.SelectMany(e => e.Owner.Replicas).GroupBy(r => r, StringComparer.Ordinal).ToDictionary(g => g.Key, g => (long)g.Count(), StringComparer.Ordinal);
        var silos = view.Members()
            .GroupBy(m => m.Name, StringComparer.Ordinal)
            .Select(g => g.MaxBy(m => m.SiloAddress.Generation)!)
            .OrderBy(m => m.Name, StringComparer.Ordinal)
            .Select(m => new ClusterSiloResponse(
                m.Name,
                m.SiloAddress.Endpoint.ToString(),
                m.Status.ToString().ToLowerInvariant(),
                primaries.GetValueOrDefault(m.Name),
                replicas.GetValueOrDefault(m.Name)))
            .ToList();
        return TypedResults.Json(new ClusterResponse(view.SelfName, ownership.IsDistributed, silos), ShardsJsonContext.Default.ClusterResponse);
    }
}
