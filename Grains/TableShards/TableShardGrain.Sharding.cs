using System.Text.Json;
using OrleansShards.Grains.Hosting;
using OrleansShards.Grains.Sharding;
using OrleansShards.Grains.Storage;

namespace OrleansShards.Grains.TableShards;

/// <summary>
/// Routing of a sharded table. The base grain <c>tenant:table</c> keeps the layout (persisted in its own file's
/// <c>_meta</c>) in memory and forwards every call: a read or write with <c>shardKey</c> to its shard, a read
/// without it to every shard (rows concatenated), a write without it is refused. HTTP and in-process callers
/// therefore need no change, and the layout can only flip inside this grain's own exclusive turn — which is
/// what holds writes still during a switch.
/// </summary>
internal sealed partial class TableShardGrain : IShardHost
{
    private const string LayoutKey = "shard:layout";
    private const string OperationKey = "shard:op";
    private const string RoundRobinNextKey = "shard:rr-next";
    private const string AssignTable = "_shard_assign";

    private volatile ShardLayout? _layout;
    private volatile ShardOperation? _operation;
    private ShardAssigner? _assigner;
    private ITableShard[]? _shardRefs;
    private volatile bool _destroyed;

    /// <summary>True when calls to this table are forwarded to shards.</summary>
    private bool IsSharded => _layout is not null;

    /// <summary>Loads the layout and journal from <c>_meta</c>.</summary>
    private void LoadSharding()
    {
        _layout = ReadMeta(LayoutKey) is { } layoutJson
            ? JsonSerializer.Deserialize(layoutJson, ShardingJsonContext.Default.ShardLayout)
            : null;
        _operation = ReadMeta(OperationKey) is { } operationJson
            ? JsonSerializer.Deserialize(operationJson, ShardingJsonContext.Default.ShardOperation)
            : null;
        _shardRefs = null;
        _assigner = _layout is null ? null : LoadAssigner(_layout);
    }

    private string? ReadMeta(string key) =>
        _writerConnection.Query("SELECT value FROM _meta WHERE key = ?", key) is [var row, ..] && row[0].Kind == SqlValueKind.Text ? row[0].AsText : null;

    private ShardAssigner LoadAssigner(ShardLayout layout)
    {
        var routers = ServiceProvider.GetService(typeof(ShardRouterRegistry)) as ShardRouterRegistry;
        if (layout.Strategy != ShardStrategies.RoundRobin)
        {
            return new ShardAssigner(layout, routers?.Find(layout.Router));
        }

        var map = new Dictionary<string, int>(StringComparer.Ordinal);
        if (_writerConnection.ExecuteScalar("SELECT count(*) FROM sqlite_master WHERE name = ?", AssignTable) > 0)
        {
            foreach (var row in _writerConnection.Query($"SELECT k, shard FROM {AssignTable}"))
            {
                map[row[0].AsText] = (int)row[1].AsInteger;
            }
        }

        var next = _writerConnection.Query("SELECT value FROM _meta WHERE key = ?", RoundRobinNextKey) is [var n, ..] && n[0].Kind == SqlValueKind.Integer ? n[0].AsInteger : map.Count;
        return new ShardAssigner(layout, null, map, next);
    }

    private ITableShard[] ShardRefs(ShardLayout layout)
    {
        var refs = _shardRefs;
        if (refs is null || refs.Length != layout.Count)
        {
            refs = [.. Enumerable.Range(0, layout.Count).Select(i => _grains.GetGrain<ITableShard>(ShardName.Format(_tenant, ShardLayout.ShardName(_table, i))))];
            _shardRefs = refs;
        }

        return refs;
    }

    /// <summary>The shard of <paramref name="shardKey"/>; a new roundRobin assignment is made durable before it is used.</summary>
    private async Task<ITableShard> RouteAsync(ShardLayout layout, SqlValue? shardKey) => (await RouteIndexAsync(layout, shardKey)).Shard;

    private async Task<(ITableShard Shard, int Index)> RouteIndexAsync(ShardLayout layout, SqlValue? shardKey)
    {
        if (shardKey is not { } key)
        {
            throw new ShardException(ShardErrorCode.InvalidArgument,
                $"Table {_table} is sharded by {layout.Key}{(layout.KeyPath is null ? string.Empty : "." + layout.KeyPath)}; writes must carry shardKey.");
        }

        var assigner = _assigner!;
        var index = assigner.Assign(key);
        if (layout.Strategy == ShardStrategies.RoundRobin)
        {
            await PersistAssignmentsAsync(assigner);
        }

        return (ShardRefs(layout)[index], index);
    }

    private async Task PersistAssignmentsAsync(ShardAssigner assigner)
    {
        var fresh = assigner.TakeNewAssignments();
        if (fresh.Count == 0)
        {
            return;
        }

        await _writer.RunMaintenanceAsync(writer =>
        {
            InTransaction(writer, () =>
            {
                writer.Execute($"CREATE TABLE IF NOT EXISTS {AssignTable}(k TEXT PRIMARY KEY, shard INTEGER NOT NULL) WITHOUT ROWID");
                foreach (var (k, shard) in fresh)
                {
                    writer.ExecuteInternal($"INSERT OR REPLACE INTO {AssignTable}(k, shard) VALUES (?, ?)", k, shard);
                }

                writer.ExecuteInternal("INSERT OR REPLACE INTO _meta(key, value) VALUES (?, ?)", RoundRobinNextKey, assigner.Next);
            });
            return Task.CompletedTask;
        });
    }

    private async Task<QueryResult> RouteQueryAsync(ShardLayout layout, QueryRequest request, CancellationToken cancellationToken)
    {
        var forwarded = request with { ShardKey = null };
        if (request.ShardKey is not null)
        {
            var shard = await RouteAsync(layout, request.ShardKey);
            return await shard.QueryAsync(forwarded, cancellationToken);
        }

        return await FanOutQueryAsync(layout, forwarded, cancellationToken);
    }

    /// <summary>
    /// A read without shard key: every shard in parallel, rows concatenated in shard order. The combined answer is held
    /// to the same cap as one statement's (<see cref="TableShardOptions.MaxResultRows"/>, <see cref="TableShardOptions.MaxResultBytes"/>),
    /// counted as the shards answer: past it the read is <c>RESULT_TOO_LARGE</c> at once and the other shards' reads are canceled.
    /// </summary>
    private async Task<QueryResult> FanOutQueryAsync(ShardLayout layout, QueryRequest request, CancellationToken cancellationToken)
    {
        var cap = new ResultCap(_options.MaxResultRows, _options.MaxResultBytes);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var pending = ShardRefs(layout).Select(s => s.QueryAsync(request, stop.Token)).ToArray();
        var results = new QueryResult[pending.Length];
        var remaining = pending.ToList();
        while (remaining.Count > 0)
        {
            var done = await Task.WhenAny(remaining);
            remaining.Remove(done);
            QueryResult result;
            try
            {
                result = await done;
            }
            catch
            {
                ObserveFaults(remaining);
                throw;
            }

            if (!cap.TryAdd(result.Rows))
            {
                await stop.CancelAsync();
                ObserveFaults(remaining);
                throw ResultCap.TooLarge(_options.MaxResultRows, _options.MaxResultBytes);
            }

            results[Array.IndexOf(pending, done)] = result;
        }

        var rows = new List<SqlValue[]>();
        long rowsRead = 0;
        IReadOnlyList<string> columns = [];
        foreach (var result in results)
        {
            if (columns.Count == 0)
            {
                columns = result.Columns;
            }

            rows.AddRange(result.Rows);
            rowsRead += result.RowsRead;
        }

        return new QueryResult(columns, rows, rowsRead, new QueryMeta("shards", 0, null));
    }

    /// <summary>Reads given up on still finish (canceled or not); their faults are observed, not rethrown.</summary>
    private static void ObserveFaults(IEnumerable<Task> abandoned)
    {
        foreach (var task in abandoned)
        {
            _ = task.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }
    }

    private async Task<MutationResult> RouteMutationAsync(ShardLayout layout, MutationRequest request, CancellationToken cancellationToken)
    {
        if (request.TransactionId is not null)
        {
            throw new ShardException(ShardErrorCode.InvalidArgument,
                $"Table {_table} is sharded: interactive transactions are not available; send the statements as a batch with shardKey.");
        }

        var (shard, index) = await RouteIndexAsync(layout, request.ShardKey);
        var check = new ShardKeyCheck(_table, layout, index, request.ShardKey!.Value);
        return await shard.AsReference<IShardHost>().MutateRoutedAsync(request with { ShardKey = null }, check, cancellationToken);
    }

    private async Task<BatchResult> RouteBatchAsync(ShardLayout layout, BatchRequest request, CancellationToken cancellationToken)
    {
        var (shard, index) = await RouteIndexAsync(layout, request.ShardKey);
        var check = new ShardKeyCheck(_table, layout, index, request.ShardKey!.Value);
        return await shard.AsReference<IShardHost>().BatchRoutedAsync(request with { ShardKey = null }, check, cancellationToken);
    }

    /// <summary>
    /// On a partition: the rule its routed writes' rows are held to — their key routes here under the layout the write
    /// was routed by (for roundRobin, which assigns keys on first use, the key is the one it was routed by).
    /// </summary>
    private ShardKeyRule RuleOf(ShardKeyCheck check)
    {
        var layout = check.Layout;
        if (layout.Strategy == ShardStrategies.RoundRobin)
        {
            // The assignments are recorded by the key's encoding (type and value): the row's key must encode the same.
            var key = KeyCodec.Encode(check.Value);
            return new ShardKeyRule(check, row => KeyCodec.Encode(row) == key);
        }

        var routers = ServiceProvider.GetService(typeof(ShardRouterRegistry)) as ShardRouterRegistry;
        var assigner = new ShardAssigner(layout, routers?.Find(layout.Router));
        return new ShardKeyRule(check, row => assigner.Assign(row) == check.Index);
    }

    /// <summary>
    /// DDL of a sharded table: every file must keep the same schema, so the DDL is first run and rolled back on every shard
    /// and on the base file — one that any file refuses (a UNIQUE index its rows break, a column it lacks) changes none —
    /// then applied to every shard, in order, and last to the base file, whose schema unshard and rebalance copy. This
    /// grain's exclusive turn holds the routed writes meanwhile, so no write of the table lands between the check and the
    /// change (one already running on a shard may; the DDL then answers its error there, and the files that took it keep it).
    /// </summary>
    private async Task<DdlResult> RouteDdlAsync(ShardLayout layout, DdlRequest request, CancellationToken cancellationToken)
    {
        var shards = ShardRefs(layout);
        foreach (var shard in shards)
        {
            await shard.AsReference<Sharding.IShardHost>().CheckDdlAsync(request, cancellationToken);
        }

        await _writer.EnqueueAsync(new Writes.WriteWork(Writes.WriteKind.Ddl, [new Statement(request.Query)]) { DryRun = true });
        foreach (var shard in shards)
        {
            await shard.DdlAsync(request, cancellationToken);
        }

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

    private static void InTransaction(ShardConnection writer, Action body)
    {
        writer.Execute("BEGIN IMMEDIATE");
        try
        {
            body();
            writer.Execute("COMMIT");
        }
        catch
        {
            if (SQLitePCL.raw.sqlite3_get_autocommit(writer.Db) == 0)
            {
                writer.Execute("ROLLBACK");
            }

            throw;
        }
    }
}
