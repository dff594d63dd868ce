using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OrleansShards.Grains.Storage;
using OrleansShards.Grains.Hosting;
using OrleansShards.Grains.Operations;
using Orleans.Concurrency;

namespace OrleansShards.Grains.Sharding;

/// <summary>
/// The shard registry of one table (<see cref="IShardRegistry"/>). It keeps no state of its own: the layout and the
/// operation journal live in the base table's file and are read through the base grain. It drives the long phases of
/// an operation (copy, catch-up rounds) in its own turns so the base table keeps serving, then asks the base table
/// for the brief switch.
/// </summary>
[Reentrant]
[Cluster.ShardPlacement] // beside its table's primary: same key, same silo
internal sealed partial class ShardRegistryGrain : Grain, IShardRegistry
{
    private const int MaxCount = 1000;
    private const int MaxCatchUpRounds = 8;
    private const int SmallTail = 64;
    private readonly ShardRouterRegistry _routers;
    private readonly ShardingHostId _hostId;
    private readonly ShardingFaults _faults;
    private readonly ShardMigrations _migrations;
    private readonly TableShardOptions _options;
    private readonly TimeProvider _clock;
    private readonly IGrainFactory _grains;
    private readonly ILogger<ShardRegistryGrain> _logger;
    private string _tenant = null!;
    private string _table = null!;
    private int _busy;

    public ShardRegistryGrain(
        ShardRouterRegistry routers,
        ShardingHostId hostId,
        ShardingFaults faults,
        ShardMigrations migrations,
        IOptions<TableShardOptions> options,
        [FromKeyedServices(ShardClock.ServiceKey)] TimeProvider clock,
        IGrainFactory grains,
        ILogger<ShardRegistryGrain> logger)
    {
        // The silo's factory, usable from any thread: the migration calls hosts from pool threads.
        _grains = grains;
        _migrations = migrations;
        _options = options.Value;
        _clock = clock;
        _routers = routers;
        _hostId = hostId;
        _faults = faults;
        _logger = logger;
    }

    private TimeProvider TimeProvider => _clock;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        (_tenant, _table) = ShardName.Parse(this.GetPrimaryKeyString());
        return Task.CompletedTask;
    }

    private IShardHost Host(string name) => _grains.GetGrain<IShardHost>(ShardName.Format(_tenant, name));

    private IShardHost Base => Host(_table);

    /// <summary>
    /// Refuses an operation that removes <paramref name="partitions"/> while one of them holds rows in a table other than
    /// the sharded table and its children (created by DDL after the sharding, written with a shard key): the operation
    /// carries only those tables, and the other rows would be lost with the partition.
    /// </summary>
    private async Task RequireNothingLeftBehindAsync(IReadOnlyList<string> partitions, ShardLayout layout, string operation, CancellationToken cancellationToken)
    {
        var shapes = await Task.WhenAll(partitions.Select(async name => (Name: name, Shape: await Host(name).DescribeAsync(_table, layout.Key, layout.KeyPath, cancellationToken))));
        var holding = shapes.Where(s => s.Shape.UnmovedTables.Count > 0).ToList();
        if (holding.Count > 0)
        {
            throw Invalid(
                $"Partition {string.Join(", ", holding.Select(h => $"{h.Name} holds rows in {string.Join(", ", h.Shape.UnmovedTables)}"))}: {operation} carries only {_table} and its " +
                "child tables, so those rows would be lost with the partition. Move them to a table of their own (or delete them) first.");
        }
    }

    public async Task<ShardResult> ShardAsync(ShardRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        using var busy = Enter();
        var run = await StartOperationAsync(request.OperationId, OperationKinds.Shard);
        return await TrackAsync(run, () => ShardAsync(request, run, cancellationToken));
    }

    private async Task<ShardResult> ShardAsync(ShardRequest request, OperationRun run, CancellationToken cancellationToken)
    {
        var (key, keyPath) = ValidateKey(request.Key, request.KeyPath);
        ValidateCount(request.Count, "count");
        var strategy = request.Strategy ?? ShardStrategies.Hash;
        if (!ShardStrategies.All.Contains(strategy, StringComparer.Ordinal))
        {
            throw Invalid($"Unknown strategy '{strategy}'; use one of {string.Join(", ", ShardStrategies.All)}.");
        }

        var router = strategy == ShardStrategies.Custom
            ? _routers.Find(request.Router) ?? throw Invalid(request.Router is null
                ? "Strategy custom needs router: the name of a router registered with AddShardRouter."
                : $"No shard router named '{request.Router}' is registered (AddShardRouter).")
            : null;
        var longest = ShardLayout.ShardName(_table, request.Count - 1);
        if (!ShardName.IsValid(longest))
        {
            throw Invalid($"Shard table names ({longest}) would exceed {ShardName.MaxLength} characters; table names up to {ShardName.MaxLength - longest.Length + _table.Length} characters can have {request.Count} shards.");
        }

        var started = Stopwatch.StartNew();
        var state = await Base.GetShardingStateAsync(cancellationToken);
        RequireIdle(state);
        if (state.Layout is not null)
        {
            throw Invalid($"Table {_table} is already sharded ({state.Layout.Count} shards by {state.Layout.Key}); unshard it first or rebalance.");
        }

        var shape = await Base.DescribeAsync(_table, key, keyPath, cancellationToken);
        if (shape.UnmovedTables.Count > 0)
        {
            // Reads and writes of a sharded table's file go to its partitions: those rows would stay behind in the base
            // file, out of sight, and rows written to those tables in the partitions would not survive an unshard.
            throw Invalid(
                $"Table {_table}'s file also holds rows in {string.Join(", ", shape.UnmovedTables)}, which {(shape.UnmovedTables.Count == 1 ? "is" : "are")} neither {_table} " +
                $"nor a child table of it (a foreign key to {_table}); sharding moves only those. Move those rows to a table of their own (or empty those tables) first.");
        }

        var rows = await Base.CountRowsAsync(shape.Table, cancellationToken);
        if (rows == 0)
        {
            throw Invalid($"Table {_table} is empty; there is nothing to shard.");
        }

        var id = Guid.NewGuid().ToString("N");
        var keyColumn = shape.Parent.Columns.First(c => string.Equals(c, key, StringComparison.OrdinalIgnoreCase));
        var layout = new ShardLayout(id, keyColumn, keyPath, strategy, request.Count, TimeProvider.GetUtcNow().ToUnixTimeMilliseconds(), Router: request.Router);
        if (strategy == ShardStrategies.Range)
        {
            layout = layout with { SplitPoints = ShardAssigner.SplitPoints(await SortedKeysAsync([_table], shape, cancellationToken), request.Count) };
        }

        var assigner = new ShardAssigner(layout, router);
        var targets = Enumerable.Range(0, request.Count).Select(i => new MigrationTarget(ShardLayout.ShardName(_table, i), i, TargetMode.Fresh)).ToList();
        var operation = NewOperation(id, ShardOperation.KindShard, shape, [_table], targets, layout, remove: [], emptyBase: true);
        var outcome = await RunAsync(operation, shape, assigner, run, cancellationToken);
        var shards = await CountShardsAsync(layout, cancellationToken);
        return new ShardResult(shards, layout.ToInfo(_table), Stats(shards), outcome.RowsMoved, started.ElapsedMilliseconds, outcome.StallMs, id, run.Id);
    }

    public Task<UnshardResult> UnshardAsync(CancellationToken cancellationToken = default) => UnshardAsync(new UnshardRequest(), cancellationToken);

    public async Task<UnshardResult> UnshardAsync(UnshardRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        using var busy = Enter();
        var run = await StartOperationAsync(request.OperationId, OperationKinds.Unshard);
        return await TrackAsync(run, () => UnshardAsync(run, cancellationToken));
    }

    private async Task<UnshardResult> UnshardAsync(OperationRun run, CancellationToken cancellationToken)
    {
        var started = Stopwatch.StartNew();
        var state = await Base.GetShardingStateAsync(cancellationToken);
        RequireIdle(state);
        var layout = state.Layout ?? throw NotSharded(state, ".");
        var shape = await Base.DescribeAsync(_table, layout.Key, layout.KeyPath, cancellationToken);
        var names = layout.ShardNames(_table).ToList();
        await RequireNothingLeftBehindAsync(names, layout, "unshard", cancellationToken);
        var id = Guid.NewGuid().ToString("N");
        var operation = NewOperation(id, ShardOperation.KindUnshard, shape, names, [new MigrationTarget(_table, 0, TargetMode.Base)], null, remove: names, emptyBase: false);
        var outcome = await RunAsync(operation, shape, new ShardAssigner(layout with { Count = 1, Strategy = ShardStrategies.Hash }, null), run, cancellationToken);
        var rows = await Base.CountRowsAsync(shape.Table, cancellationToken);
        return new UnshardResult(rows, outcome.RowsMoved, names.Count, started.ElapsedMilliseconds, outcome.StallMs, id, run.Id);
    }

    public async Task<bool> IsShardedAsync(CancellationToken cancellationToken = default) =>
        (await Base.GetShardingStateAsync(cancellationToken)).Layout is not null;

    public async Task<ShardDiscovery> DiscoverAsync(CancellationToken cancellationToken = default)
    {
        var state = await Base.GetShardingStateAsync(cancellationToken);
        if (state.Layout is not { } layout)
        {
            return new ShardDiscovery(false, null, [], null, state.Operation?.Kind);
        }

        var health = await Task.WhenAll(Enumerable.Range(0, layout.Count).Select(async i =>
        {
            var name = ShardLayout.ShardName(_table, i);
            var watch = Stopwatch.StartNew();
            try
            {
                var rows = await Host(name).CountRowsAsync(_table, cancellationToken);
                var stats = await _grains.GetGrain<ITableShard>(ShardName.Format(_tenant, name)).GetStatsAsync(cancellationToken);
                return new ShardHealth(name, i, "healthy", watch.Elapsed.TotalMilliseconds, rows, stats.SizeBytes);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                return new ShardHealth(name, i, "unhealthy", watch.Elapsed.TotalMilliseconds, 0, 0, ex.Message);
            }
        }));
        var healthy = health.Where(h => h.Status == "healthy").Select(h => h.RowCount).ToList();
        return new ShardDiscovery(true, layout.ToInfo(_table), health, ShardDistributionStats.Of(healthy), state.Operation?.Kind);
    }

    public async Task<ShardQueryResult> QueryShardsAsync(ShardQueryRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var state = await Base.GetShardingStateAsync(cancellationToken);
        var layout = state.Layout ?? throw NotSharded(state, "; use query.");
        var names = layout.ShardNames(_table).Select(n => ShardName.Format(_tenant, n)).ToList();
        return await ShardQueryExecutor.RunAsync(_grains, names, request, _options.MaxResultRows, _options.MaxResultBytes, cancellationToken);
    }

    public async Task<RebalanceResult> RebalanceAsync(RebalanceRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        using var busy = Enter();
        var run = await StartOperationAsync(request.OperationId, OperationKinds.Rebalance);
        return await TrackAsync(run, () => RebalanceAsync(request, run, cancellationToken));
    }

    private async Task<RebalanceResult> RebalanceAsync(RebalanceRequest request, OperationRun run, CancellationToken cancellationToken)
    {
        var mode = request.Strategy ?? "incremental";
        if (mode is not ("incremental" or "full"))
        {
            throw Invalid($"Unknown rebalance strategy '{mode}'; use incremental or full.");
        }

        if (request.TargetCount is { } requested)
        {
            ValidateCount(requested, "targetCount");
        }

        if (request.MaxSkew is { } skew && (double.IsNaN(skew) || skew < 1))
        {
            throw Invalid("maxSkew is a ratio max/avg and must be at least 1.");
        }

        var started = Stopwatch.StartNew();
        var state = await Base.GetShardingStateAsync(cancellationToken);
        RequireIdle(state);
        var layout = state.Layout ?? throw NotSharded(state, ".");
        var count = request.TargetCount ?? layout.Count;
        var longest = ShardLayout.ShardName(_table, count - 1);
        if (!ShardName.IsValid(longest))
        {
            throw Invalid($"Shard table names ({longest}) would exceed {ShardName.MaxLength} characters.");
        }

        var before = await CountShardsAsync(layout, cancellationToken);
        var beforeStats = Stats(before);
        var unchangedLayout = count == layout.Count && !(mode == "full" && layout.Strategy is ShardStrategies.Range or ShardStrategies.RoundRobin);
        if ((count == layout.Count && request.MaxSkew is { } maxSkew && beforeStats.SkewRatio <= maxSkew)
            || (unchangedLayout && layout.Strategy is ShardStrategies.Hash or ShardStrategies.Custom))
        {
            return new RebalanceResult(0, beforeStats, beforeStats, [], before, layout.ToInfo(_table), started.ElapsedMilliseconds, 0, string.Empty, Skipped: true, OperationId: run.Id);
        }

        var shape = await Base.DescribeAsync(_table, layout.Key, layout.KeyPath, cancellationToken);
        var oldNames = layout.ShardNames(_table).ToList();
        var id = Guid.NewGuid().ToString("N");
        if (count < layout.Count)
        {
            await RequireNothingLeftBehindAsync(layout.ShardNames(_table).Skip(count).ToList(), layout, "a rebalance to fewer partitions", cancellationToken);
        }

        var newLayout = layout with { Count = count };
        ShardAssigner assigner;
        switch (layout.Strategy)
        {
            case ShardStrategies.Range:
                newLayout = newLayout with { SplitPoints = ShardAssigner.SplitPoints(await SortedKeysAsync(oldNames, shape, cancellationToken), count) };
                assigner = new ShardAssigner(newLayout, null);
                break;
            case ShardStrategies.RoundRobin:
                var (map, next) = await RoundRobinMapAsync(layout, count, mode == "full", cancellationToken);
                assigner = new ShardAssigner(newLayout, null, map, next);
                break;
            default:
                assigner = new ShardAssigner(newLayout, _routers.Find(layout.Router));
                break;
        }

        var targets = Enumerable.Range(0, count)
            .Select(i => new MigrationTarget(ShardLayout.ShardName(_table, i), i, i < layout.Count ? TargetMode.Live : TargetMode.Fresh))
            .ToList();
        var removed = oldNames.Skip(count).ToList();
        var operation = NewOperation(id, ShardOperation.KindRebalance, shape, oldNames, targets, newLayout, removed, emptyBase: false);
        var migration = await RunAsync(operation, shape, assigner, run, cancellationToken);
        var after = await CountShardsAsync(newLayout, cancellationToken);
        var modified = new SortedSet<string>(StringComparer.Ordinal);
        modified.UnionWith(removed);
        foreach (var shard in after)
        {
            var previous = before.FirstOrDefault(b => b.Index == shard.Index);
            if (previous is null || previous.RowCount != shard.RowCount || migration.Touched.Contains(shard.Name))
            {
                modified.Add(shard.Name);
            }
        }

        return new RebalanceResult(migration.RowsMoved, beforeStats, Stats(after), [.. modified], after, newLayout.ToInfo(_table),
            started.ElapsedMilliseconds, migration.StallMs, id, OperationId: run.Id);
    }

    /// <summary>Creates the operation's record (<see cref="IOperationGrain"/>) and logs its start.</summary>
    private Task<OperationRun> StartOperationAsync(string? operationId, string kind) =>
        ServiceProvider.GetRequiredService<OperationTracker>().StartAsync(operationId, kind, _tenant, ShardName.Format(_tenant, _table));

    /// <summary>Runs <paramref name="body"/> and ends the operation's record as completed or failed with its error.</summary>
    private static async Task<T> TrackAsync<T>(OperationRun run, Func<Task<T>> body)
    {
        try
        {
            var result = await body();
            await run.CompleteAsync();
            return result;
        }
        catch (Exception ex)
        {
            await run.FailAsync(ex);
            throw;
        }
    }

    /// <summary>Rows of every part of the table in <paramref name="sources"/>: the copy's total.</summary>
    private async Task<long> CountSourceRowsAsync(IReadOnlyList<string> sources, TableShape shape, CancellationToken cancellationToken)
    {
        var counts = await Task.WhenAll(sources.SelectMany(source => shape.Parts.Select(part => Host(source).CountRowsAsync(part.Name, cancellationToken))));
        return counts.Sum();
    }

    private ShardOperation NewOperation(string id, string kind, TableShape shape, List<string> sources, List<MigrationTarget> targets, ShardLayout? layout, List<string> remove, bool emptyBase) =>
        new(id, kind, ShardOperation.Copying, _hostId.Value, [.. shape.Parts.Select(p => p.Name)], sources, targets, layout, remove, emptyBase,
            TimeProvider.GetUtcNow().ToUnixTimeMilliseconds());

    /// <summary>Journal, prepare targets, copy, catch-up rounds, switch; on failure the base table rolls back.</summary>
    private async Task<RunOutcome> RunAsync(ShardOperation operation, TableShape shape, ShardAssigner assigner, OperationRun run, CancellationToken cancellationToken)
    {
        var total = await CountSourceRowsAsync(operation.Sources, shape, cancellationToken);
        await run.PhaseAsync("prepare", 0, total);
        // A new partition starts from an empty file: never over a table of the tenant's that has the same name (one
        // created before partition names were reserved).
        foreach (var target in operation.Targets.Where(t => t.Mode == TargetMode.Fresh))
        {
            if (File.Exists(new ShardPaths(_options.DataDirectory, _tenant, target.Name).Database)
                || await ServiceProvider.GetRequiredService<Cluster.IShardOwnership>().GetAsync(ShardName.Format(_tenant, target.Name), cancellationToken) is not null)
            {
                throw Invalid($"Table {target.Name} already exists; partition names ({_table}{ShardLayout.ShardSeparator}<n>) are reserved. Rename or drop it first.");
            }
        }
        await Base.BeginOperationAsync(operation, cancellationToken);
        var migration = new ShardMigration(operation, shape, assigner, Host, _faults, run);
        try
        {
            await Task.WhenAll(operation.Targets.Where(t => t.Mode == TargetMode.Fresh)
                .Select(t => Host(t.Name).ResetAsync(shape.TableSchema, cancellationToken)));
            if (operation.Targets.Any(t => t.Mode == TargetMode.Base))
            {
                await Base.TruncateAsync(operation.Tables, cancellationToken);
            }

            migration.Step("copy");
            await run.PhaseAsync("copy", 0, total);
            await migration.CopyAsync(cancellationToken);
            await run.PhaseAsync("catchup", migration.RowsRead, Math.Max(total, migration.RowsRead));
            for (var round = 0; round < MaxCatchUpRounds; round++)
            {
                migration.Step("catchup");
                if (await migration.CatchUpAsync(cancellationToken) <= SmallTail)
                {
                    break;
                }
            }
            SwitchOutcome outcome;
            _migrations.Add(migration);
            await run.PhaseAsync("switch", migration.RowsRead, Math.Max(total, migration.RowsRead));
            try
            {
                outcome = await Base.SwitchAsync(operation.Id, cancellationToken);
                await migration.Cleanup;
            }
            finally
            {
                _migrations.Remove(operation.Id);
            }

            LogCompleted(_table, operation.Kind, operation.Id, outcome.RowsMoved, outcome.StallMs);
            var touched = operation.Targets.Where(t => t.Mode == TargetMode.Fresh).Select(t => t.Name).ToHashSet(StringComparer.Ordinal);
            return new RunOutcome(outcome.RowsMoved, outcome.StallMs, touched);
        }
        catch (Exception ex) when (ex is not SimulatedCrashException)
        {
            LogFailed(ex, _table, operation.Kind, operation.Id);
            try
            {
                await Base.AbortOperationAsync(operation.Id, ex.Message, CancellationToken.None);
            }
            catch (Exception abort) when (abort is not SimulatedCrashException)
            {
                LogFailed(abort, _table, "rollback of " + operation.Kind, operation.Id);
            }

            throw;
        }
    }

    private sealed record RunOutcome(long RowsMoved, long StallMs, HashSet<string> Touched);

    private async Task<List<SqlValue>> SortedKeysAsync(IReadOnlyList<string> sources, TableShape shape, CancellationToken cancellationToken)
    {
        var keys = new List<SqlValue>();
        var sql = $"SELECT k FROM ({shape.Parent.SelectWithKey.Replace(", p.* FROM", " AS k FROM", StringComparison.Ordinal)}) ORDER BY k COLLATE BINARY";
        foreach (var source in sources)
        {
            keys.AddRange((await Host(source).ReadInternalAsync(sql, [], cancellationToken)).Select(r => r[0]));
        }

        if (sources.Count > 1)
        {
            keys.Sort(SqlValueOrder.Instance);
        }

        return keys;
    }

    /// <summary>The new roundRobin key→shard map: full reassigns every key in turn; incremental moves only keys of removed or over-full shards.</summary>
    private async Task<(Dictionary<string, int> Map, long Next)> RoundRobinMapAsync(ShardLayout layout, int count, bool full, CancellationToken cancellationToken)
    {
        var rows = await Base.ReadInternalAsync("SELECT k, shard FROM " + ShardingMeta.AssignTable + " ORDER BY k", [], cancellationToken);
        var map = new Dictionary<string, int>(StringComparer.Ordinal);
        if (full)
        {
            var i = 0;
            foreach (var row in rows)
            {
                map[row[0].AsText] = i++ % count;
            }

            return (map, i);
        }

        var quota = (rows.Count + count - 1) / count;
        var load = new int[count];
        var spill = new List<string>();
        foreach (var row in rows)
        {
            var shard = (int)row[1].AsInteger;
            if (shard < count && load[shard] < quota)
            {
                map[row[0].AsText] = shard;
                load[shard]++;
            }
            else
            {
                spill.Add(row[0].AsText);
            }
        }

        foreach (var k in spill)
        {
            var target = Array.IndexOf(load, load.Min());
            map[k] = target;
            load[target]++;
        }

        return (map, rows.Count);
    }

    private async Task<List<ShardInfo>> CountShardsAsync(ShardLayout layout, CancellationToken cancellationToken)
    {
        var counts = await Task.WhenAll(Enumerable.Range(0, layout.Count)
            .Select(i => Host(ShardLayout.ShardName(_table, i)).CountRowsAsync(_table, cancellationToken)));
        return [.. counts.Select((c, i) => new ShardInfo(ShardLayout.ShardName(_table, i), i, c))];
    }

    private static ShardDistributionStats Stats(IReadOnlyList<ShardInfo> shards) => ShardDistributionStats.Of([.. shards.Select(s => s.RowCount)]);

    private static (string Key, string? Path) ValidateKey(string? key, string? keyPath)
    {
        if (string.IsNullOrWhiteSpace(key))
        {
            throw Invalid("key is required: the column (or column.json.path) to shard by.");
        }

        var segments = key.Split('.');
        var pathSegments = segments.Skip(1).Concat(string.IsNullOrEmpty(keyPath) ? [] : keyPath.Split('.')).ToList();
        foreach (var segment in segments.Concat(pathSegments))
        {
            if (!ShardName.IsValid(segment))
            {
                throw Invalid($"key and keyPath are names of [A-Za-z0-9_] (1-{ShardName.MaxLength} characters) joined by dots; '{segment}' is not.");
            }
        }

        return (segments[0], pathSegments.Count == 0 ? null : string.Join('.', pathSegments));
    }

    private static void ValidateCount(int count, string name)
    {
        if (count < 1 || count > MaxCount)
        {
            throw Invalid($"{name} must be a positive number of shards, at most {MaxCount}; got {count}.");
        }
    }

    private static void RequireIdle(ShardingState state)
    {
        if (state.Operation is { } operation)
        {
            throw new ShardException(ShardErrorCode.OperationInProgress, $"A {operation.Kind} operation ({operation.Id}) is in progress on this table; retry when it completes.");
        }
    }

    private BusyScope Enter()
    {
        if (Interlocked.CompareExchange(ref _busy, 1, 0) != 0)
        {
            throw new ShardException(ShardErrorCode.OperationInProgress, $"A sharding operation is already running on {_table}; retry when it completes.");
        }

        return new BusyScope(this);
    }

    private static ShardException Invalid(string message) => new(ShardErrorCode.InvalidArgument, message);

    /// <summary>Unshard, rebalance or a query across shards of a table that is not sharded: <c>NOT_FOUND</c> when it does not exist at all.</summary>
    private ShardException NotSharded(ShardingState state, string rest) => state.Missing
        ? new(ShardErrorCode.NotFound, $"Table {_table} does not exist.")
        : Invalid($"Table {_table} is not sharded{rest}");

    private readonly struct BusyScope(ShardRegistryGrain grain) : IDisposable
    {
        public void Dispose() => Volatile.Write(ref grain._busy, 0);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Table {Table}: {Kind} {OperationId} completed, {RowsMoved} rows moved, writes held {StallMs} ms")]
    private partial void LogCompleted(string table, string kind, string operationId, long rowsMoved, long stallMs);

    [LoggerMessage(Level = LogLevel.Error, Message = "Table {Table}: {Kind} {OperationId} failed")]
    private partial void LogFailed(Exception exception, string table, string kind, string operationId);
}
