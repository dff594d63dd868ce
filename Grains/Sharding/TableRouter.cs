using OrleansShards.Grains.Storage;

namespace OrleansShards.Grains.Sharding;

/// <summary>
/// The routing of one sharded table under one layout, held by the table's base grain (<c>tenant:table</c>), which
/// forwards every call through it: a read or write with <c>shardKey</c> to its shard, a read without it to every shard
/// (rows concatenated in shard order, held to the result cap), a write without it refused. A new layout (a switch)
/// gets a new router. A plain class: the shards are reached through the functions it is given, so it runs and is
/// tested without a silo.
/// </summary>
internal sealed class TableRouter
{
    private readonly string _table;
    private readonly ShardAssigner _assigner;
    private readonly Func<int, ITableShard> _tables;
    private readonly Func<int, IShardHost> _hosts;
    private readonly Func<IReadOnlyList<KeyValuePair<string, int>>, long, Task> _recordAssignments;
    private readonly int _maxResultRows;
    private readonly long _maxResultBytes;
    private ITableShard[]? _shards;

    /// <param name="table">The table's name (for error messages).</param>
    /// <param name="assigner">Maps a shard key to a shard under the layout.</param>
    /// <param name="tables">Shard <c>i</c> as a table (reads, DDL).</param>
    /// <param name="hosts">Shard <c>i</c> as a sharding participant (routed writes, DDL checks).</param>
    /// <param name="recordAssignments">Makes new roundRobin assignments (and the next turn) durable before they are used.</param>
    /// <param name="maxResultRows">The cap on a read's rows, counted over every shard's answer.</param>
    /// <param name="maxResultBytes">The cap on a read's bytes, counted likewise.</param>
    public TableRouter(
        string table,
        ShardAssigner assigner,
        Func<int, ITableShard> tables,
        Func<int, IShardHost> hosts,
        Func<IReadOnlyList<KeyValuePair<string, int>>, long, Task> recordAssignments,
        int maxResultRows,
        long maxResultBytes)
    {
        _table = table;
        _assigner = assigner;
        _tables = tables;
        _hosts = hosts;
        _recordAssignments = recordAssignments;
        _maxResultRows = maxResultRows;
        _maxResultBytes = maxResultBytes;
    }

    public ShardLayout Layout => _assigner.Layout;

    /// <summary>The assigner, handed to the next layout's switch (roundRobin carries its assignments over).</summary>
    public ShardAssigner Assigner => _assigner;

    private ITableShard[] Shards => _shards ??= [.. Enumerable.Range(0, Layout.Count).Select(_tables)];

    /// <summary>A read: to the shard of its <c>shardKey</c>, or to every shard without one.</summary>
    public async Task<QueryResult> QueryAsync(QueryRequest request, CancellationToken cancellationToken)
    {
        var forwarded = request with { ShardKey = null };
        if (request.ShardKey is not null)
        {
            var (index, _) = await RouteAsync(request.ShardKey);
            return await Shards[index].QueryAsync(forwarded, cancellationToken);
        }

        return await FanOutAsync(forwarded, cancellationToken);
    }

    /// <summary>
    /// A read without shard key: every shard in parallel, rows concatenated in shard order. The combined answer is held
    /// to the same cap as one statement's, counted as the shards answer: past it the read is <c>RESULT_TOO_LARGE</c> at
    /// once and the other shards' reads are canceled.
    /// </summary>
    public async Task<QueryResult> FanOutAsync(QueryRequest request, CancellationToken cancellationToken)
    {
        var cap = new ResultCap(_maxResultRows, _maxResultBytes);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var pending = Shards.Select(s => s.QueryAsync(request, stop.Token)).ToArray();
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
                throw ResultCap.TooLarge(_maxResultRows, _maxResultBytes);
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

    /// <summary>A write: to the shard of its <c>shardKey</c>, which holds the rows it touches to that key.</summary>
    public async Task<MutationResult> MutateAsync(MutationRequest request, CancellationToken cancellationToken)
    {
        if (request.TransactionId is not null)
        {
            throw new ShardException(ShardErrorCode.InvalidArgument,
                $"Table {_table} is sharded: interactive transactions are not available; send the statements as a batch with shardKey.");
        }

        var (index, check) = await RouteAsync(request.ShardKey);
        return await _hosts(index).MutateRoutedAsync(request with { ShardKey = null }, check, cancellationToken);
    }

    /// <summary>A batch: to the shard of its <c>shardKey</c>, atomic there.</summary>
    public async Task<BatchResult> BatchAsync(BatchRequest request, CancellationToken cancellationToken)
    {
        var (index, check) = await RouteAsync(request.ShardKey);
        return await _hosts(index).BatchRoutedAsync(request with { ShardKey = null }, check, cancellationToken);
    }

    /// <summary>
    /// DDL of a sharded table: every file must keep the same schema, so the DDL is first run and rolled back on every
    /// shard and then on the base file (<paramref name="checkBase"/>) — one that any file refuses changes none — then
    /// applied to every shard in order. The caller applies it to the base file last (unshard and rebalance copy its
    /// schema), holding the table's routed writes meanwhile.
    /// </summary>
    public async Task ApplyDdlToShardsAsync(DdlRequest request, Func<Task> checkBase, CancellationToken cancellationToken)
    {
        for (var i = 0; i < Layout.Count; i++)
        {
            await _hosts(i).CheckDdlAsync(request, cancellationToken);
        }

        await checkBase();
        foreach (var shard in Shards)
        {
            await shard.DdlAsync(request, cancellationToken);
        }
    }

    /// <summary>
    /// On a partition: the rule its routed writes' rows are held to — their key routes here under the layout the write
    /// was routed by (for roundRobin, which assigns keys on first use, the key is the one it was routed by).
    /// </summary>
    public static ShardKeyRule RuleOf(ShardKeyCheck check, ShardRouterRegistry? routers)
    {
        ArgumentNullException.ThrowIfNull(check);
        var layout = check.Layout;
        if (layout.Strategy == ShardStrategies.RoundRobin)
        {
            // The assignments are recorded by the key's encoding (type and value): the row's key must encode the same.
            var key = KeyCodec.Encode(check.Value);
            return new ShardKeyRule(check, row => KeyCodec.Encode(row) == key);
        }

        var assigner = new ShardAssigner(layout, routers?.Find(layout.Router));
        return new ShardKeyRule(check, row => assigner.Assign(row) == check.Index);
    }

    /// <summary>The shard of <paramref name="shardKey"/>; a new roundRobin assignment is made durable before it is used.</summary>
    private async Task<(int Index, ShardKeyCheck Check)> RouteAsync(SqlValue? shardKey)
    {
        var layout = Layout;
        if (shardKey is not { } key)
        {
            throw new ShardException(ShardErrorCode.InvalidArgument,
                $"Table {_table} is sharded by {layout.Key}{(layout.KeyPath is null ? string.Empty : "." + layout.KeyPath)}; writes must carry shardKey.");
        }

        var index = _assigner.Assign(key);
        if (layout.Strategy == ShardStrategies.RoundRobin && _assigner.TakeNewAssignments() is { Count: > 0 } fresh)
        {
            await _recordAssignments(fresh, _assigner.Next);
        }

        return (index, new ShardKeyCheck(_table, layout, index, key));
    }

    /// <summary>Reads given up on still finish (canceled or not); their faults are observed, not rethrown.</summary>
    private static void ObserveFaults(IEnumerable<Task> abandoned)
    {
        foreach (var task in abandoned)
        {
            _ = task.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }
    }
}
