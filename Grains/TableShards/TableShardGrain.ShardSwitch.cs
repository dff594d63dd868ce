using System.Diagnostics;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Orleans.Runtime;
using Orleans.Streams;
using OrleansShards.Grains.Sharding;

namespace OrleansShards.Grains.TableShards;

/// <summary>
/// The operation journal, the switch and crash recovery, run by the base table grain. The switch is one exclusive
/// turn of this grain, so every write to the table (all go through it) has either committed before it or runs after
/// it under the new layout.
/// </summary>
internal sealed partial class TableShardGrain
{
    public async Task BeginOperationAsync(ShardOperation operation, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(operation);
        if (_operation is { } running)
        {
            throw new ShardException(ShardErrorCode.InvalidArgument, $"A {running.Kind} operation ({running.Id}) is already in progress on {_table}.");
        }

        if ((operation.Kind == ShardOperation.KindShard) == IsSharded)
        {
            throw new ShardException(ShardErrorCode.InvalidArgument, IsSharded ? $"Table {_table} is already sharded." : $"Table {_table} is not sharded.");
        }

        if (_transactions.Count > 0 && operation.Kind == ShardOperation.KindShard)
        {
            // Open interactive transactions are fine: their COMMIT is a logged write the tail replays.
            LogOpenTransactions(_table, _transactions.Count);
        }

        await WriteJournalAsync(operation);
        _operation = operation;
        await RecordShardEventAsync(ShardEvents.Started, operation, $"sources={operation.Sources.Count} targets={operation.Targets.Count}");
    }

    public async Task<SwitchOutcome> SwitchAsync(string operationId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(operationId);
        var operation = _operation;
        var migration = ServiceProvider.GetRequiredService<ShardMigrations>().Find(operationId);
        if (migration is null || operation is null || operation.Id != operationId || operation.State != ShardOperation.Copying)
        {
            throw new ShardException(ShardErrorCode.InvalidArgument, $"Operation {operationId} is no longer current on {_table}.");
        }

        var stall = Stopwatch.StartNew();
        var remote = migration.Hosts;
        migration.Hosts = name => name == _table ? this : remote(name);
        try
        {
            migration.Step("switch");
            var finalKeys = await migration.CatchUpAsync(cancellationToken);
            migration.Step("prepare");
            var moved = await PrepareSwitchAsync(migration, cancellationToken);
            migration.Step("flip");
            var switched = operation with { State = ShardOperation.Switched };
            await FlipAsync(switched, migration.Assigner);
            migration.Step("commit");
            await FinishLiveShardsAsync(switched, migration.Hosts);
            stall.Stop();
            var cleanup = CompleteAsync(switched, migration.Faults, $"rowsMoved={moved} finalKeys={finalKeys} stallMs={stall.ElapsedMilliseconds}");
            migration.Cleanup = cleanup;
            return new SwitchOutcome(stall.ElapsedMilliseconds, moved, finalKeys);
        }
        finally
        {
            migration.Hosts = remote;
        }
    }

    public async Task AbortOperationAsync(string operationId, string reason, CancellationToken cancellationToken = default)
    {
        if (_operation is not { } operation || operation.Id != operationId)
        {
            return;
        }

        if (operation.State == ShardOperation.Switched)
        {
            await FinishLiveShardsAsync(operation, ShardHostOf);
            await CompleteAsync(operation, null, "rolled forward after a failure at the switch");
            return;
        }

        await RollBackAsync(operation, reason);
    }

    /// <summary>On activation: a journal left by another process is rolled back (not switched) or forward (switched).</summary>
    private async Task ResumeShardOperationAsync()
    {
        var owner = ServiceProvider.GetService<ShardingHostId>()?.Value;
        if (_operation is not { } operation || operation.Owner == owner)
        {
            return;
        }

        LogResuming(_table, operation.Kind, operation.Id, operation.State);
        if (operation.State == ShardOperation.Switched)
        {
            await FinishLiveShardsAsync(operation, ShardHostOf);
            await CompleteAsync(operation, null, "rolled forward after a restart");
        }
        else
        {
            await RollBackAsync(operation, "the process stopped during the operation; rolled back");
        }
    }

    private IShardHost ShardHostOf(string name) => name == _table ? this : _grains.GetGrain<IShardHost>(ShardName.Format(_tenant, name));

    private async Task<long> PrepareSwitchAsync(ShardMigration migration, CancellationToken cancellationToken)
    {
        var operation = migration.Operation;
        var shape = migration.Shape;
        var hosts = migration.Hosts;
        var tasks = new List<Task>();
        foreach (var target in operation.Targets.Where(t => t.Mode == TargetMode.Fresh))
        {
            tasks.Add(hosts(target.Name).ExecuteSchemaAsync(shape.LateSchema, cancellationToken));
        }

        long moved = 0;
        var idempotency = new List<SqlValue[]>();
        foreach (var source in operation.Sources)
        {
            idempotency.AddRange(await hosts(source).ReadInternalAsync("SELECT key, at_ms, outcome FROM _idempotency", [], cancellationToken));
            if (!migration.IsLiveSource(source))
            {
                moved += await hosts(source).CountRowsAsync(shape.Table, cancellationToken);
                continue;
            }

            moved += migration.MovedOut(source, shape.Table).Count;
            var setup = new List<string>();
            var writes = new List<TableWrite>();
            foreach (var part in shape.Parts)
            {
                var keys = migration.MovedOut(source, part.Name);
                if (keys.Count == 0)
                {
                    continue;
                }

                var deletes = ShardSql.DeletesOf(part.Name);
                var keyColumns = part.PrimaryKey.Select(i => part.Columns[i]).ToList();
                setup.Add($"DROP TABLE IF EXISTS {ShardSql.Quote(deletes)}");
                setup.Add($"CREATE TABLE {ShardSql.Quote(deletes)} AS SELECT {part.PrimaryKeyList()} FROM {ShardSql.Quote(part.Name)} WHERE 0");
                writes.Add(new TableWrite(string.Empty, ShardSql.Upsert(deletes, keyColumns), [], [.. keys]));
            }

            if (writes.Count > 0)
            {
                tasks.Add(hosts(source).ApplyAsync(new ApplyBatch(setup, writes), cancellationToken));
            }
        }

        if (idempotency.Count > 0)
        {
            var copy = new TableWrite(string.Empty, "INSERT OR IGNORE INTO _idempotency(key, at_ms, outcome) VALUES (?, ?, ?)", [], idempotency);
            tasks.AddRange(operation.Targets.Select(t => hosts(t.Name).ApplyAsync(new ApplyBatch([], [copy]), cancellationToken)));
        }

        await Task.WhenAll(tasks);
        await migration.CheckLiveTargetsAsync(cancellationToken);
        return moved;
    }

    /// <summary>Flips the layout and the journal to <c>switched</c> in one transaction of this file, then in memory.</summary>
    private async Task FlipAsync(ShardOperation switched, ShardAssigner assigner)
    {
        await _writer.RunMaintenanceAsync(writer =>
        {
            ShardingMeta.WriteSwitch(writer, switched, assigner);
            return Task.CompletedTask;
        });

        assigner.TakeNewAssignments();
        _router = switched.NewLayout is null ? null : CreateRouter(assigner);
        _operation = switched;

        // Statements queued in open interactive transactions were aimed at the old layout: they are dropped (TX_NOT_FOUND on COMMIT).
        _transactions.Clear();
    }

    /// <summary>The commit step of every live shard (idempotent): leaving rows deleted, arriving rows merged.</summary>
    private async Task FinishLiveShardsAsync(ShardOperation operation, Func<string, IShardHost> hosts)
    {
        var live = operation.Targets.Where(t => t.Mode == TargetMode.Live).Select(t => t.Name).ToList();
        await Task.WhenAll(live.Select(name => hosts(name).FinishMoveAsync(operation.Tables)));
    }

    /// <summary>After the switch: removed shards deleted, the base file emptied after sharding, journal cleared, <c>shard.completed</c>.</summary>
    private async Task CompleteAsync(ShardOperation operation, ShardingFaults? faults, string detail)
    {
        faults?.Step("cleanup");
        foreach (var name in operation.Remove)
        {
            await ShardHostOf(name).DestroyAsync();
        }

        if (operation.EmptyBase)
        {
            await TruncateAsync(operation.Tables);
        }

        await WriteJournalAsync(null);
        _operation = null;
        await RecordShardEventAsync(ShardEvents.Completed, operation, detail);
    }

    private async Task RollBackAsync(ShardOperation operation, string reason)
    {
        foreach (var target in operation.Targets)
        {
            switch (target.Mode)
            {
                case TargetMode.Fresh:
                    await ShardHostOf(target.Name).DestroyAsync();
                    break;
                case TargetMode.Base:
                    await TruncateAsync(operation.Tables);
                    break;
                default:
                    await ShardHostOf(target.Name).DropStagingAsync(operation.Tables);
                    break;
            }
        }

        await WriteJournalAsync(null);
        _operation = null;
        await RecordShardEventAsync(ShardEvents.Failed, operation, reason);
    }

    private Task WriteJournalAsync(ShardOperation? operation) => _writer.RunMaintenanceAsync(writer =>
    {
        ShardingMeta.WriteJournal(writer, operation);
        return Task.CompletedTask;
    });

    /// <summary>Writes the event to <c>_events</c> and publishes it on the <c>shard-events</c> stream (best effort).</summary>
    private async Task RecordShardEventAsync(string type, ShardOperation operation, string? detail)
    {
        var shardEvent = new ShardEvent(type, operation.Id, _shard, operation.Kind, TimeProvider.GetUtcNow().ToUnixTimeMilliseconds(), detail);
        await _writer.RunMaintenanceAsync(writer =>
        {
            writer.ExecuteInternal("INSERT INTO _events(at_ms, type, correlation_id, payload) VALUES (?, ?, ?, ?)",
                shardEvent.AtUnixMs, type, operation.Id, JsonSerializer.Serialize(shardEvent, ShardingJsonContext.Default.ShardEvent));
            return Task.CompletedTask;
        });

        if (ServiceProvider.GetKeyedService<IStreamProvider>(ShardEvents.StreamProvider) is { } provider)
        {
            try
            {
                await provider.GetStream<ShardEvent>(StreamId.Create(ShardEvents.StreamNamespace, _shard)).OnNextAsync(shardEvent);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                LogEventNotPublished(ex, type, operation.Id);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Table {Table} has {Count} open interactive transactions at the start of sharding")]
    private partial void LogOpenTransactions(string table, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Table {Table}: resolving {Kind} operation {OperationId} left in state {State} by a stopped process")]
    private partial void LogResuming(string table, string kind, string operationId, string state);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Shard event {Type} of {OperationId} was written to _events but not published")]
    private partial void LogEventNotPublished(Exception exception, string type, string operationId);
}
