using OrleansShards.Grains.Replication;
using OrleansShards.Grains.TableShards;
using OrleansShards.Silo.Http.Wire;
using static OrleansShards.Silo.Http.ShardRequestContext;

namespace OrleansShards.Silo.Http;

/// <summary>The handlers of <c>/v1/tables/{table}/…</c>. Failures are thrown and shaped by <see cref="ShardsApi"/>.</summary>
internal static class TableEndpoints
{
    private static readonly HashSet<string> ReservedLookupParameters = new(StringComparer.Ordinal)
    {
        TenantQueryParameter, "consistency", "maxStalenessMs", "minBookmark",
    };

    public static void Map(RouteGroupBuilder tables, ShardsApi api)
    {
        tables.MapPost("/query", api.Handle(QueryAsync));
        tables.MapPost("/mutation", api.Handle(MutationAsync));
        tables.MapPost("/batch", api.Handle(BatchAsync));
        tables.MapPost("/ddl", api.Handle(DdlAsync));
        tables.MapPost("/transaction", api.Handle(TransactionAsync));
        tables.MapPost("/pitr/bookmark", api.Handle(BookmarkAsync));
        tables.MapPost("/pitr/restore", api.Handle(RestoreAsync));
        tables.MapGet("/rows/{pk}", api.Handle(RowByKeyAsync));
        tables.MapGet("/rows", api.Handle(RowsByColumnAsync));
        tables.MapGet("/stats", api.Handle(StatsAsync));
        tables.MapPost("/stats/refresh", api.Handle(RefreshStatsAsync));
        tables.MapPost("/cache/warm", api.Handle(WarmAsync));
    }

    private static async Task<IResult> WarmAsync(HttpContext http, string table, ShardRequestContext ctx)
    {
        var body = await ctx.ReadBodyAsync(http, ShardsJsonContext.Default.WarmBody);
        var shard = ctx.GetShard(http, table, body.TenantId);
        if (body.Lookups is { } lookups)
        {
            for (var i = 0; i < lookups.Count; i++)
            {
                // JSON null or a missing column would otherwise reach the shard as a primary-key lookup or a null.
                _ = Required(lookups[i]?.Column, $"lookups[{i}].column");
            }
        }

        var result = await shard.WarmAsync(new WarmRequest(body.PrimaryKeys, body.Lookups, body.HotKeys), http.RequestAborted);
        return TypedResults.Json(result, ShardsJsonContext.Default.WarmResult);
    }

    private static async Task<IResult> QueryAsync(HttpContext http, string table, ShardRequestContext ctx)
    {
        var body = await ctx.ReadBodyAsync(http, ShardsJsonContext.Default.QueryBody);
        var shard = ctx.GetShard(http, table, body.TenantId, query: true);
        var request = new QueryRequest(
            Required(body.Query, "query"),
            body.Params,
            ParseConsistency(body.Consistency),
            NonNegative(body.MaxStalenessMs, "maxStalenessMs"),
            body.MinBookmark,
            body.ShardKey);

        // A read that allows staleness may be answered by this silo's replica of the shard (follower read); a strong read
        // of a shard whose primary is open on this silo by its reader pool, without the grain call (LocalShardReads).
        var result = (FollowerReads.Allows(request) && http.RequestServices.GetService<FollowerReads>() is { } followers
                ? await followers.TryReadAsync(shard.GetPrimaryKeyString(), request, http.RequestAborted)
                : null)
            ?? (http.RequestServices.GetService<LocalShardReads>() is { Enabled: true } local
                ? await local.TryQueryAsync(shard.GetPrimaryKeyString(), request, http.RequestAborted)
                : null)
            ?? await shard.QueryAsync(request, http.RequestAborted);
        return TypedResults.Json(result, ShardsJsonContext.Default.QueryResult);
    }

    private static async Task<IResult> MutationAsync(HttpContext http, string table, ShardRequestContext ctx)
    {
        var body = await ctx.ReadBodyAsync(http, ShardsJsonContext.Default.MutationBody);
        var (shard, noGrowth) = await ctx.GetShardForWriteAsync(http, table, body.TenantId, body.Query);
        var request = new MutationRequest(Required(body.Query, "query"), body.Params, body.TransactionId, body.IdempotencyKey, body.ShardKey, noGrowth);
        var result = await shard.MutateAsync(request, http.RequestAborted);
        return result.Queued
            ? TypedResults.Json(new QueuedResponse(true), ShardsJsonContext.Default.QueuedResponse)
            : TypedResults.Json(new MutationResponse(result.Changes, result.LastInsertRowId, result.Bookmark), ShardsJsonContext.Default.MutationResponse);
    }

    private static async Task<IResult> BatchAsync(HttpContext http, string table, ShardRequestContext ctx)
    {
        var body = await ctx.ReadBodyAsync(http, ShardsJsonContext.Default.BatchBody);
        var (shard, noGrowth) = await ctx.GetShardForWriteAsync(http, table, body.TenantId, body.Statements?.Select(s => s?.Query) ?? []);
        if (body.Statements is not { Count: > 0 } statements)
        {
            throw Invalid("statements must hold at least one statement.");
        }

        var list = new Statement[statements.Count];
        for (var i = 0; i < list.Length; i++)
        {
            var s = statements[i] ?? throw Invalid($"statements[{i}] must be an object.");
            list[i] = new Statement(Required(s.Query, $"statements[{i}].query"), s.Params);
        }

        var result = await shard.BatchAsync(new BatchRequest(list, body.IdempotencyKey, body.ShardKey, noGrowth), http.RequestAborted);
        return TypedResults.Json(result, ShardsJsonContext.Default.BatchResult);
    }

    private static async Task<IResult> DdlAsync(HttpContext http, string table, ShardRequestContext ctx)
    {
        var body = await ctx.ReadBodyAsync(http, ShardsJsonContext.Default.DdlBody);
        var (shard, noGrowth) = await ctx.GetShardForWriteAsync(http, table, body.TenantId, body.Query);
        var result = await shard.DdlAsync(new DdlRequest(Required(body.Query, "query"), noGrowth), http.RequestAborted);
        return TypedResults.Json(new DdlResponse(result.Ok, result.Bookmark), ShardsJsonContext.Default.DdlResponse);
    }

    private static async Task<IResult> TransactionAsync(HttpContext http, string table, ShardRequestContext ctx)
    {
        var body = await ctx.ReadBodyAsync(http, ShardsJsonContext.Default.TransactionBody);
        var operation = Required(body.Operation, "operation").ToUpperInvariant() switch
        {
            "BEGIN" => TransactionOperation.Begin,
            "COMMIT" => TransactionOperation.Commit,
            "ROLLBACK" => TransactionOperation.Rollback,
            _ => throw Invalid("operation must be BEGIN, COMMIT or ROLLBACK."),
        };
        if (operation != TransactionOperation.Begin)
        {
            Required(body.TransactionId, "transactionId");
        }

        // A COMMIT is a write: over the storage quota it may not grow the shard, whenever its statements were queued.
        var (shard, noGrowth) = operation == TransactionOperation.Commit
            ? await ctx.GetShardForCommitAsync(http, table, body.TenantId)
            : (ctx.GetShard(http, table, body.TenantId), false);
        var result = await shard.TransactionAsync(new TransactionRequest(operation, body.TransactionId, body.IdempotencyKey, noGrowth), http.RequestAborted);
        return operation switch
        {
            TransactionOperation.Begin => TypedResults.Json(
                new TransactionBeginResponse(result.TransactionId, result.ExpiresAtUnixMs), ShardsJsonContext.Default.TransactionBeginResponse),
            TransactionOperation.Commit => TypedResults.Json(
                new TransactionCommitResponse(result.TransactionId, result.Results ?? [], result.Bookmark), ShardsJsonContext.Default.TransactionCommitResponse),
            _ => TypedResults.Json(
                new TransactionRollbackResponse(result.TransactionId, true), ShardsJsonContext.Default.TransactionRollbackResponse),
        };
    }

    private static async Task<IResult> BookmarkAsync(HttpContext http, string table, ShardRequestContext ctx)
    {
        var body = await ctx.ReadBodyAsync(http, ShardsJsonContext.Default.BookmarkBody);
        var shard = ctx.GetShard(http, table, body.TenantId);
        var result = await shard.GetBookmarkAsync(new BookmarkRequest(body.At), http.RequestAborted);
        return TypedResults.Json(result, ShardsJsonContext.Default.BookmarkResult);
    }

    private static async Task<IResult> RestoreAsync(HttpContext http, string table, ShardRequestContext ctx)
    {
        var body = await ctx.ReadBodyAsync(http, ShardsJsonContext.Default.RestoreBody);

        // Under the storage quota like a write: a restore keeps a snapshot of the state it replaces.
        var (shard, _) = await ctx.GetShardForWriteAsync(http, table, body.TenantId, [null]);
        var result = await shard.RestoreAsync(new RestoreRequest(Required(body.Bookmark, "bookmark"), body.OperationId), http.RequestAborted);
        return TypedResults.Json(result, ShardsJsonContext.Default.RestoreResult);
    }

    private static async Task<IResult> RowByKeyAsync(HttpContext http, string table, ShardRequestContext ctx)
    {
        var pk = http.Request.RouteValues["pk"] as string ?? "";
        var shard = ctx.GetShardForQueryString(http, table);
        var query = http.Request.Query;
        var request = new RowLookupRequest(
            PrimaryKey: ParseKey(pk),
            Consistency: ParseConsistency(Single(query, "consistency")),
            MaxStalenessMs: ParseMilliseconds(Single(query, "maxStalenessMs"), "maxStalenessMs"),
            MinBookmark: Single(query, "minBookmark"));
        var result = await shard.LookupRowsAsync(request, http.RequestAborted);
        return TypedResults.Json(result, ShardsJsonContext.Default.QueryResult);
    }

    private static async Task<IResult> RowsByColumnAsync(HttpContext http, string table, ShardRequestContext ctx)
    {
        var shard = ctx.GetShardForQueryString(http, table);
        var query = http.Request.Query;
        string? column = null;
        foreach (var name in query.Keys)
        {
            if (ReservedLookupParameters.Contains(name))
            {
                continue;
            }

            if (column is not null)
            {
                throw Invalid("Look rows up by exactly one column: GET rows?{column}={value}.");
            }

            column = name;
        }

        if (column is null)
        {
            throw Invalid("Look rows up by a column: GET rows?{column}={value}, or by primary key: GET rows/{pk}.");
        }

        if (!ShardName.IsValid(column))
        {
            throw Invalid($"The column name must be 1-{ShardName.MaxLength} characters of [A-Za-z0-9_].");
        }

        var request = new RowLookupRequest(
            Column: column,
            Value: ParseKey(Single(query, column) ?? string.Empty),
            Consistency: ParseConsistency(Single(query, "consistency")),
            MaxStalenessMs: ParseMilliseconds(Single(query, "maxStalenessMs"), "maxStalenessMs"),
            MinBookmark: Single(query, "minBookmark"));
        var result = await shard.LookupRowsAsync(request, http.RequestAborted);
        return TypedResults.Json(result, ShardsJsonContext.Default.QueryResult);
    }

    private static async Task<IResult> StatsAsync(HttpContext http, string table, ShardRequestContext ctx)
    {
        var shard = ctx.GetShardForQueryString(http, table);
        var result = await shard.GetStatsAsync(http.RequestAborted);
        return TypedResults.Json(result, ShardsJsonContext.Default.ShardStats);
    }

    /// <summary>Measures the shard's size now (as the periodic capacity check does) and answers its stats.</summary>
    private static async Task<IResult> RefreshStatsAsync(HttpContext http, string table, ShardRequestContext ctx)
    {
        var shard = ctx.GetShardForQueryString(http, table);
        var result = await shard.RefreshCapacityAsync(http.RequestAborted);
        return TypedResults.Json(result, ShardsJsonContext.Default.ShardStats);
    }
}
