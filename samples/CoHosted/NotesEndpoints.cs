using System.Collections.Concurrent;

namespace OrleansShards.Samples.CoHosted;

/// <summary>
/// The app's own endpoints. They use <see cref="IGrainFactory.GetGrain{TGrainInterface}(string)"/> with
/// <see cref="ITableShard"/>, the same interface a remote service gets from <c>OrleansShards.Client</c>; here
/// each call runs in-process on the shard's activation.
/// </summary>
public static class NotesEndpoints
{
    private static readonly ConcurrentDictionary<string, bool> SchemaCreated = new(StringComparer.Ordinal);

    /// <summary>A note as the API returns it.</summary>
    /// <param name="Id">The row id.</param>
    /// <param name="Text">The note.</param>
    public sealed record Note(long Id, string Text);

    /// <summary>The body of <c>POST /tenants/{tenant}/notes</c>.</summary>
    /// <param name="Text">The note.</param>
    public sealed record NewNote(string Text);

    /// <summary>
    /// Maps <c>POST /tenants/{tenant}/notes</c> and <c>GET /tenants/{tenant}/notes</c>. A <see cref="ShardException"/> (a bad
    /// tenant name such as <c>a%2Fb</c>, a full shard, …) answers the same typed error the shard API does:
    /// <c>{error:{code, message, retryable}}</c> with the code's status, never a bare 500.
    /// </summary>
    public static IEndpointRouteBuilder MapNotes(this IEndpointRouteBuilder app)
    {
        var notes = app.MapGroup("/tenants/{tenant}/notes").AddEndpointFilter(TypedErrorsAsync);
        notes.MapPost(string.Empty, async (string tenant, NewNote note, IGrainFactory grains, CancellationToken cancellationToken) =>
        {
            var shard = await NotesAsync(grains, tenant, cancellationToken);
            var result = await shard.MutateAsync(new MutationRequest("INSERT INTO notes (text) VALUES (?)", [note.Text]), cancellationToken);
            return Results.Created($"/tenants/{tenant}/notes/{result.LastInsertRowId}", new Note(result.LastInsertRowId, note.Text));
        });

        notes.MapGet(string.Empty, async (string tenant, IGrainFactory grains, CancellationToken cancellationToken) =>
        {
            var shard = await NotesAsync(grains, tenant, cancellationToken);
            var result = await shard.QueryAsync(new QueryRequest("SELECT id, text FROM notes ORDER BY id"), cancellationToken);
            return result.Rows.Select(r => new Note(r[0].AsInteger, r[1].AsText)).ToList();
        });

        return app;
    }

    private static async ValueTask<object?> TypedErrorsAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        try
        {
            return await next(context);
        }
        catch (ShardException e)
        {
            return Results.Json(new { error = new { code = e.Code.ToWire(), message = e.Message, retryable = e.Retryable } }, statusCode: e.Code.ToHttpStatus());
        }
    }

    private static async Task<ITableShard> NotesAsync(IGrainFactory grains, string tenant, CancellationToken cancellationToken)
    {
        // Tenant names are validated by ShardName.Format (INVALID_ARGUMENT otherwise).
        var shard = grains.GetGrain<ITableShard>(ShardName.Format(tenant, "notes"));
        if (!SchemaCreated.ContainsKey(tenant))
        {
            await shard.DdlAsync(new DdlRequest("CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL)"), cancellationToken);
            SchemaCreated[tenant] = true;
        }

        return shard;
    }
}
