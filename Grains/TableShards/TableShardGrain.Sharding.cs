using OrleansShards.Grains.Hosting;
using OrleansShards.Grains.Sharding;
using OrleansShards.Grains.Storage;

namespace OrleansShards.Grains.TableShards;

/// <summary>
/// Routing of a sharded table. The base grain <c>tenant:table</c> keeps the layout (persisted in its own file's
/// <c>_meta</c>, see <see cref="ShardingMeta"/>) in memory as a <see cref="TableRouter"/> and forwards every call
/// through it. HTTP and in-process callers therefore need no change, and the layout can only flip inside this grain's
/// own exclusive turn — which is what holds writes still during a switch.
/// </summary>
internal sealed partial class TableShardGrain : IShardHost
{
    /// <summary>The routing of this table when it is sharded (<see cref="TableRouter"/>); null when it is not.</summary>
    private volatile TableRouter? _router;
    private volatile ShardOperation? _operation;
    private volatile bool _destroyed;

    /// <summary>True when calls to this table are forwarded to shards.</summary>
    private bool IsSharded => _router is not null;

    private ShardRouterRegistry? Routers => ServiceProvider.GetService(typeof(ShardRouterRegistry)) as ShardRouterRegistry;

    /// <summary>Loads the layout and journal from <c>_meta</c>.</summary>
    private void LoadSharding()
    {
        var (layout, operation) = ShardingMeta.Read(_writerConnection);
        _operation = operation;
        _router = layout is null ? null : CreateRouter(ShardingMeta.ReadAssigner(_writerConnection, layout, Routers));
    }

    /// <summary>The router of the assigner's layout: shards are this table's partition grains.</summary>
    private TableRouter CreateRouter(ShardAssigner assigner) => new(
        _table,
        assigner,
        i => _grains.GetGrain<ITableShard>(PartitionKey(i)),
        i => _grains.GetGrain<IShardHost>(PartitionKey(i)),
        (fresh, next) => _writer.RunMaintenanceAsync(writer =>
        {
            ShardingMeta.RecordAssignments(writer, fresh, next);
            return Task.CompletedTask;
        }),
        _options.MaxResultRows,
        _options.MaxResultBytes);

    private string PartitionKey(int index) => ShardName.Format(_tenant, ShardLayout.ShardName(_table, index));

    /// <summary>On a partition: the rule its routed writes' rows are held to (<see cref="TableRouter.RuleOf"/>).</summary>
    private ShardKeyRule RuleOf(ShardKeyCheck check) => TableRouter.RuleOf(check, Routers);

    /// <summary>
    /// DDL of a sharded table: checked on every shard and on the base file, applied to every shard
    /// (<see cref="TableRouter.ApplyDdlToShardsAsync"/>) and last to the base file, whose schema unshard and rebalance
    /// copy. This grain's exclusive turn holds the routed writes meanwhile, so no write of the table lands between the
    /// check and the change (one already running on a shard may; the DDL then answers its error there, and the files
    /// that took it keep it).
    /// </summary>
    private async Task<DdlResult> RouteDdlAsync(TableRouter router, DdlRequest request, CancellationToken cancellationToken)
    {
        await router.ApplyDdlToShardsAsync(
            request,
            () => _writer.EnqueueAsync(new Writes.WriteWork(Writes.WriteKind.Ddl, [new Statement(request.Query)]) { DryRun = true }),
            cancellationToken);
        var outcome = await WriteAsync(new Writes.WriteWork(Writes.WriteKind.Ddl, [new Statement(request.Query)]) { NoGrowth = request.NoGrowth });
        _readers.ClearPlanCaches();
        _coherence.TableInfo = null;
        return new DdlResult(true, BookmarkOf(outcome.Sequence));
    }

    private void RejectDuringOperation(string what)
    {
        if (_operation is { } operation)
        {
            throw new ShardException(ShardErrorCode.Retryable,
                $"Table {_table} is being changed by a {operation.Kind} operation ({operation.Id}); {what} is refused until it completes.");
        }
    }

    private void RejectSharded(string what)
    {
        if (IsSharded)
        {
            throw new ShardException(ShardErrorCode.InvalidArgument, $"Table {_table} is sharded: {what} is not available; address the rows with shardKey.");
        }
    }
}
