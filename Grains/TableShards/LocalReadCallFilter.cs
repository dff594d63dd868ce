namespace OrleansShards.Grains.TableShards;

/// <summary>
/// The silo-local read path for code that calls <see cref="ITableShard.QueryAsync"/> through <c>IGrainFactory</c> in the
/// silo's process (a co-hosted app, a background service): a strong read of a shard whose primary is open on this silo
/// is answered by <see cref="LocalShardReads"/> before Orleans builds a message, exactly as the HTTP handler does. Every
/// read that path declines, and every call made from inside a grain, is sent as the grain call it was.
/// </summary>
/// <remarks>
/// Calls from a grain are left alone on purpose: a local read runs on the caller's thread, and a grain's turn must not be
/// held by a read of another grain's file.
/// </remarks>
internal sealed class LocalReadCallFilter(LocalShardReads reads) : IOutgoingGrainCallFilter
{
    public Task Invoke(IOutgoingGrainCallContext context)
    {
        if (!reads.Enabled
            || context.SourceContext is not null
            || context.Grain is not ITableShard
            || context.Request.GetArgumentCount() != 2
            || context.Request.GetArgument(0) is not QueryRequest request
            || context.MethodName != nameof(ITableShard.QueryAsync))
        {
            return context.Invoke();
        }

        var token = context.Request.GetArgument(1) is CancellationToken cancellationToken ? cancellationToken : default;
        var pending = reads.TryQueryAsync(context.TargetId.Key.ToString(), request, token);
        if (!pending.IsCompletedSuccessfully)
        {
            return AwaitAsync(context, pending);
        }

        if (pending.Result is { } result)
        {
            context.Result = result;
            return Task.CompletedTask;
        }

        return context.Invoke();
    }

    private static async Task AwaitAsync(IOutgoingGrainCallContext context, ValueTask<QueryResult?> pending)
    {
        if (await pending is { } result)
        {
            context.Result = result;
            return;
        }

        await context.Invoke();
    }
}
