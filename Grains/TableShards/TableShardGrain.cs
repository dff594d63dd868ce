using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OrleansShards.Grains.Caching;
using OrleansShards.Grains.Cluster;
using OrleansShards.Grains.Diagnostics;
using OrleansShards.Grains.Hosting;
using OrleansShards.Grains.Pitr;
using OrleansShards.Grains.Sharding;
using OrleansShards.Grains.Storage;
using OrleansShards.Grains.Turns;
using OrleansShards.Grains.Writes;
using Orleans.Concurrency;
using Orleans.Runtime;

namespace OrleansShards.Grains.TableShards;

/// <summary>
/// One table of one tenant in its own SQLite file (<c>{dataDir}/{tenant}/{table}.db</c>, WAL).
/// Reads run as read-only turns on a reader pool; mutations, batches and commits run as concurrent
/// turns feeding the group-commit <see cref="ShardWriter"/>; DDL, capacity refresh and restore are
/// exclusive turns. See <see cref="ITableShard"/> for the guarantees of each call.
/// </summary>
[Reentrant]
[ShardPlacement]
internal sealed partial class TableShardGrain : Grain, ITableShard, IRemindable, IIncomingGrainCallFilter
{
    /// <summary>The durable reminder that wakes even an idle shard, at most daily, for retention pruning.</summary>
    private const string CapacityReminder = "capacity";

    /// <summary>Period of <see cref="CapacityReminder"/>: long, so that it never keeps a shard from going idle.</summary>
    private static readonly TimeSpan MaintenanceReminderPeriod = TimeSpan.FromDays(1);

    private readonly TableShardOptions _options;
    private readonly PitrOptions _pitrOptions;
    private readonly ShardMetrics _metrics;
    private readonly ShardCapacityRegistry _capacity;
    private readonly ShardFileBudget _files;
    private ShardFileBudget.Lease? _lease;
    private IGrainTimer? _idleTimer;
    private readonly ILogger<TableShardGrain> _logger;
    private readonly OpenTransactions _transactions;

    private ShardPaths _paths = null!;
    private PitrCoordinator _pitr = null!;
    private ShardConnection _writerConnection = null!;
    private ShardWriter _writer = null!;
    private ReaderPool _readers = null!;
    private ShardingParticipant _participant = null!;
    private string _shard = null!;
    private string _tenant = null!;
    private string _table = null!;
    private long _statements;
    private long _rowsRead;
    private long _sizeBytes;
    private long _pageSize;

    private readonly ShardCacheServices _cache;
    private readonly TimeProvider _clock;
    private readonly IGrainFactory _grains;
    private readonly TurnGate _turns = new();

    private IGrainTimer? _capacityTimer;

    /// <summary>The opening of the files, started by the first call that needs them; null while not open.</summary>
    private Task? _opening;

    /// <summary>True once the files are open and the shard's timers and reminder run.</summary>
    private volatile bool _open;

    /// <summary>True when this activation created the shard's file (for a DDL): a DDL that fails before any commit removes it again.</summary>
    private bool _createdByOpen;

    public TableShardGrain(
        IOptions<TableShardOptions> options,
        IOptions<PitrOptions> pitrOptions,
        ShardMetrics metrics,
        ShardCapacityRegistry capacity,
        ShardCacheServices cache,
        ShardFileBudget files,
        [FromKeyedServices(ShardClock.ServiceKey)] TimeProvider clock,
        IGrainFactory grains,
        LocalShardReads localReads,
        ILogger<TableShardGrain> logger)
    {
        _clock = clock;
        _localReads = localReads;

        // The silo's factory, usable from any thread: the writer loop and plain classes call grains too.
        _grains = grains;
        _cache = cache;
        _options = options.Value;
        _pitrOptions = pitrOptions.Value;
        Pitr.ShardStateBuilder.AllowReplayFor(_options.StatementTimeout);
        _metrics = metrics;
        _capacity = capacity;
        _files = files;
        _logger = logger;
        _transactions = new OpenTransactions(clock, _options.TransactionTimeout, _options.MaxTransactionStatements);
    }

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        // Nothing is opened or registered here: the first call that needs the files opens them (see OpenForCallAsync),
        // so a call on a table that does not exist leaves no file, reminder or metric series behind.
        _shard = this.GetPrimaryKeyString();
        (_tenant, _table) = ShardName.Parse(_shard);
        _paths = new ShardPaths(_options.DataDirectory, _tenant, _table);
        CreateCoherence();

        // In cluster mode, an activation on a silo the ownership map does not name goes at once (TableShardGrain.Cluster).
        await MayOpenAsync();
    }

    /// <summary>Opens the shard's files and starts what an open shard runs (the first call that needs them).</summary>
    private async Task OpenAsync()
    {
        _coherence.Opening();
        var opening = System.Diagnostics.Stopwatch.GetTimestamp();
        double storageMs = 0, acquireMs = 0;
        _pitr = new PitrCoordinator(_pitrOptions, _paths, TimeProvider, _logger);

        // The writer's files count against the silo's budget from now until deactivation; least recently used idle
        // shards close to make room, or the open is refused (OVERLOADED) before any file is touched.
        _lease = _files.Open(_shard, () => _transactions.IsEmpty && _operation is null, CloseForBudget);

        // Busy while opening: a shard being opened is never the one closed to make room.
        _lease.Enter();
        try
        {
            // A burst of opens can outrun the deactivations it asked for: wait for those (bounded) rather than refuse.
            await _lease.ReserveAsync(ShardFileBudget.WriterFiles, ShardFileBudget.ClosingWait);
            _createdByOpen = !ShardExists();
            Directory.CreateDirectory(_paths.TenantDirectory);
            await ReleaseCopyHereAsync();
            OpenStorage();
            storageMs = System.Diagnostics.Stopwatch.GetElapsedTime(opening).TotalMilliseconds;
            if (!await AcquireAsync())
            {
                // Another silo holds the shard (TableShardGrain.Cluster): this activation refuses and goes.
                ThrowIfRefusing();
            }

            // This file is the primary's copy now: a replica grain here must not open it as a copy (a late call of an
            // older primary's pipeline).
            _lease.Primary = true;

            acquireMs = System.Diagnostics.Stopwatch.GetElapsedTime(opening).TotalMilliseconds - storageMs;

            LoadSharding();
            OpenCache();
            await ResumeShardOperationAsync();
        }
        catch
        {
            // Half open: close what was opened. This activation answers every call with the same error until it is
            // gone (it is never reopened: its cache loop is stopped); the next activation starts afresh.
            await AbandonOpenAsync();
            throw;
        }
        finally
        {
            _lease.Exit();
        }

        StartCapacityTimer();
        StartReaderIdleTimer();
        _open = true;
        RegisterLocalReads();

        // The durable maintenance reminder (at most daily) need not hold the first call: a round trip to the reminder
        // service, registered beside it on the grain's scheduler. A failure is retried by the next activation.
        _ = EnsureCapacityReminderQuietlyAsync();
        LogActivated(_shard, _writer.Sequence, _sizeBytes, System.Diagnostics.Stopwatch.GetElapsedTime(opening).TotalMilliseconds, storageMs, acquireMs);
    }

    /// <summary>
    /// Before a call of the shard's interfaces: opens the files when they exist or the call creates them (DDL, the
    /// engine's sharding writes). A call on a table that does not exist is answered here without creating anything —
    /// <c>NOT_FOUND</c>, or the empty answer of a sharding probe — and the activation is let go. Returns false when the
    /// call was answered.
    /// </summary>
    private async ValueTask<bool> OpenForCallAsync(IIncomingGrainCallContext context)
    {
        if (_opening is null)
        {
            if (!CreatesShard(context.InterfaceMethod) && !ShardExists())
            {
                DeactivateOnIdle();
                switch (context.InterfaceMethod.Name)
                {
                    case nameof(Sharding.IShardHost.GetShardingStateAsync):
                        context.Result = new Sharding.ShardingState(null, null, Missing: true);
                        return false;
                    case nameof(Sharding.IShardHost.DestroyAsync):
                        return false;
                    case nameof(IRemindable.ReceiveReminder):
                        // A reminder of a shard whose files are gone (deleted by hand): it has nothing to maintain.
                        if (await this.GetReminder(CapacityReminder) is { } orphan)
                        {
                            await this.UnregisterReminder(orphan);
                        }

                        return false;
                    default:
                        throw new ShardException(ShardErrorCode.NotFound, $"Table {_table} does not exist; create it with ddl.");
                }
            }

            _opening = OpenAsync();
        }

        try
        {
            await _opening;
        }
        catch (Exception ex)
        {
            throw OpenFailure(ex);
        }

        return true;
    }

    private async Task AbandonOpenAsync()
    {
        DeactivateOnIdle();
        try
        {
            await CloseCacheAsync();
            await CloseStorageAsync();
        }
        catch (Exception ex)
        {
            LogAbandonFailed(ex, _shard);
        }

        _writer = null!;
        _readers = null!;
        _participant = null!;
        _writerConnection = null!;
        _lease?.Dispose();
    }

    /// <summary>Asked by the file budget (on another thread) to make room: this idle activation deactivates.</summary>
    private void CloseForBudget() => GrainContext.Deactivate(
        new DeactivationReason(DeactivationReasonCode.ApplicationRequested, "Closed to keep the silo's open files within its budget (least recently used idle shard)."),
        CancellationToken.None);

    /// <summary>Whether the shard's file exists (or a restore interrupted by a crash is to be finished).</summary>
    private bool ShardExists() => File.Exists(_paths.Database) || File.Exists(ShardRestore.MarkerPath(_paths));

    /// <summary>Calls that may create the shard's file: DDL, and the engine's calls that build a shard while sharding.</summary>
    private static bool CreatesShard(System.Reflection.MethodInfo method) =>
        method.DeclaringType == typeof(Sharding.IShardHost)
            ? method.Name is not (nameof(Sharding.IShardHost.GetShardingStateAsync) or nameof(Sharding.IShardHost.DescribeAsync) or nameof(Sharding.IShardHost.DestroyAsync)
                or nameof(Sharding.IShardHost.CheckDdlAsync)
                or nameof(Sharding.IShardHost.MutateRoutedAsync) or nameof(Sharding.IShardHost.BatchRoutedAsync))
            : method.DeclaringType == typeof(ITableShard) && method.Name == nameof(ITableShard.DdlAsync);

    /// <summary>
    /// What a caller sees when the files cannot be opened: the process out of file descriptors is <c>OVERLOADED</c>
    /// (retryable: descriptors free up as idle shards close), typed errors stay as they are.
    /// </summary>
    private Exception OpenFailure(Exception ex)
    {
        if (ex is IOException io && ShardFileBudget.IsTooManyOpenFiles(io))
        {
            _files.ReportExhausted();
            return new ShardException(ShardErrorCode.Overloaded, "The silo cannot open more files now; retry shortly.", ex);
        }

        if (ex is ShardException shard)
        {
            CountExhausted(shard);
        }

        return ex;
    }

    /// <summary>A file SQLite could not open (CANTOPEN: out of descriptors) makes <c>/health</c> report degraded.</summary>
    private void CountExhausted(ShardException error)
    {
        if (error.SqliteCode == SqliteResultCodes.CantOpen)
        {
            _files.ReportExhausted();
        }
    }

    /// <summary>The shards' clock (a fake one in tests); Orleans keeps its own.</summary>
    private TimeProvider TimeProvider => _clock;

    private static string Quote(string name) => ShardSql.Quote(name);

    /// <summary>
    /// Every call takes its turn through <see cref="_turns"/>: reads and the writes that feed group commit
    /// share it, everything else (DDL, restore, switches, reminder ticks) holds it alone.
    /// </summary>
    public async Task Invoke(IIncomingGrainCallContext context)
    {
        if (!TurnKinds.IsGated(context.InterfaceMethod))
        {
            // Not a call of the grain's interfaces (Orleans routes grain timer ticks through this filter too): the
            // callback takes its own turn. Gating it here as well would make it wait for itself.
            await context.Invoke();
            return;
        }

        Volatile.Write(ref _lastCallAt, Environment.TickCount64);
        ThrowIfRefusing();
        if (!_open && !await OpenForCallAsync(context))
        {
            return;
        }

        var lease = _lease!;
        lease.Enter();
        try
        {
            var shared = TurnKinds.IsShared(context.InterfaceMethod);
            await _turns.EnterAsync(shared, CancellationToken.None);
            try
            {
                // Again once the turn is ours: the exclusive turn we waited for may have moved the shard away.
                ThrowIfRefusing();
                await context.Invoke();
            }
            finally
            {
                _turns.Exit(shared);
            }
        }
        finally
        {
            lease.Exit();
        }
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        var closing = System.Diagnostics.Stopwatch.GetTimestamp();

        // Local reads (LocalShardReads) are no Orleans calls: Orleans does not wait for them, this does.
        await CloseLocalReadsAsync();
        _capacityTimer?.Dispose();
        _idleTimer?.Dispose();
        _repairTimer?.Dispose();
        if (_open)
        {
            if (_movedTo is not null)
            {
                // Retired after a move: writes wait for this deactivation (Orleans holds their resends until it is
                // done), and a snapshot of a file about to be deleted is worth nothing, nor is a checkpoint into it.
                _pitr.AbandonSnapshots();
                _writerConnection?.SkipCheckpointOnClose();
            }

            await CloseCacheAsync();
            if (!_destroyed)
            {
                await CloseStorageAsync();
            }
        }

        if (_movedTo is not null && _open)
        {
            // Moved to another silo (TableShardGrain.Move): this copy is retired.
            DeleteFiles();
        }

        _lease?.Dispose();

        _capacity.Remove(_shard);
        _transactions.Clear();
        LogDeactivated(_shard, reason.ReasonCode.ToString(), System.Diagnostics.Stopwatch.GetElapsedTime(closing).TotalMilliseconds);
    }

    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        if (reminderName == CapacityReminder)
        {
            await RefreshCapacityAsync();
        }
    }

    private void OpenStorage()
    {
        // A restore interrupted by a crash is finished (or discarded) before the file is opened.
        if (ShardRestore.Recover(_paths))
        {
            LogRestoreRecovered(_shard);
        }

        _writerConnection = new ShardConnection(_paths.Database, readOnly: false, _options.PlanCacheSize);
        try
        {
            _writerConnection.Execute($"PRAGMA journal_mode = WAL; PRAGMA synchronous = {_options.Synchronous}; PRAGMA foreign_keys = ON; PRAGMA journal_size_limit = 16777216;");
            ShardSchema.Migrate(_writerConnection);
            ClearReplicaDdlMark(_writerConnection);
            _pageSize = _writerConnection.ExecuteScalar("PRAGMA page_size");
            _writerConnection.Execute($"PRAGMA max_page_count = {Math.Max(1, _options.MaxShardSizeBytes / _pageSize)}");
            ConfigureConnection(_writerConnection);
        }
        catch
        {
            _writerConnection.Dispose();
            _writerConnection = null!;
            throw;
        }

        // Commit observers, in this order: capacity, metrics and the PITR schedule first, then cache coherence (the
        // outbox event inside the transaction, the pending keys after COMMIT, the publish after the acknowledgement).
        // The changeset is always captured: the change log feeds restore, cache invalidation and online moves.
        _writer = new ShardWriter(
            _writerConnection,
            _options,
            TimeProvider,
            _logger,
            new PreupdateChangeCapture(),
            [new FenceObserver(this), new CapacityObserver(this), _coherence]);
        _pitr.Open(_writerConnection, _writer.Sequence);
        var lease = _lease!;
        _readers = new ReaderPool(
            _options.ReaderPoolSize,
            async () =>
            {
                // Opened on first need, within the silo's file budget (waiting for shards it asked to close, like the
                // writer's open); closed when idle (StartReaderIdleTimer).
                await lease.ReserveAsync(ShardFileBudget.ReaderFiles, ShardFileBudget.ClosingWait);
                try
                {
                    var reader = new ShardConnection(_paths.Database, readOnly: true, _options.PlanCacheSize);
                    ConfigureConnection(reader);
                    return reader;
                }
                catch
                {
                    lease.Release(ShardFileBudget.ReaderFiles);
                    throw;
                }
            },
            _ => lease.Release(ShardFileBudget.ReaderFiles));
        _participant = new ShardingParticipant(_shard, _readers, _writer);
        MeasureCapacity(_writerConnection);
        AttachCache();
        if (_epoch != 0)
        {
            // Reopened after the file was replaced (restore, partition reset): the copy's epoch may be older.
            StampEpoch(_epoch, reopened: true);
            _writer.Epoch = _epoch;
            if (_replicator is { } replicator)
            {
                // The replicas hold the old file: each is brought up to the new one (seeded) before its next batch.
                replicator.Resync();
                _writer.Replication = replicator;
            }
        }
    }

    private async Task CloseStorageAsync()
    {
        if (_writer is not null)
        {
            await _pitr.WaitForSnapshotAsync();
            await _writer.DisposeAsync();
        }

        _readers?.Dispose();
        _writerConnection?.Dispose();
    }

    /// <summary>
    /// A copy promoted here may carry the mark a replica sets between a replayed DDL and its log row (a crash there): as a
    /// primary's file it would keep every snapshot from being published. The DDL's state stays; its sequence was never
    /// acknowledged by this copy's log, so the next commit takes it.
    /// </summary>
    private static void ClearReplicaDdlMark(ShardConnection writer)
    {
        if (writer.ExecuteScalar("SELECT count(*) FROM _meta WHERE key = ?", Replication.ReplicaLog.DdlPendingKey) > 0)
        {
            writer.ExecuteInternal("DELETE FROM _meta WHERE key = ?", Replication.ReplicaLog.DdlPendingKey);
        }
    }

    /// <summary>Applies the tenant-SQL hardening of every shard connection and the result caps.</summary>
    private void ConfigureConnection(ShardConnection connection)
    {
        ShardSecurity.Apply(connection);
        connection.MaxResultRows = _options.MaxResultRows;
        connection.MaxResultBytes = _options.MaxResultBytes;
    }

    /// <summary>
    /// While the shard is active, measures it every <see cref="TableShardOptions.CapacityCheckPeriod"/>. The timer
    /// does not keep the activation alive: an idle shard still deactivates and closes its files.
    /// </summary>
    private void StartCapacityTimer()
    {
        var period = _options.CapacityCheckPeriod;
        _capacityTimer = this.RegisterGrainTimer(
            async ct =>
            {
                await _turns.EnterAsync(shared: false, ct);
                try
                {
                    await RefreshCapacityAsync(ct);
                }
                finally
                {
                    _turns.Exit(shared: false);
                }
            },
            new GrainTimerCreationOptions(period, period) { KeepAlive = false, Interleave = true });
    }

    /// <summary>
    /// While the shard is active, closes reader connections idle for <see cref="TableShardOptions.ReaderIdleTimeout"/>.
    /// The timer does not keep the activation alive.
    /// </summary>
    private void StartReaderIdleTimer()
    {
        var period = _options.ReaderIdleTimeout;
        _idleTimer = this.RegisterGrainTimer(
            () =>
            {
                _readers?.CloseIdle(period);
                return Task.CompletedTask;
            },
            new GrainTimerCreationOptions(period, period) { KeepAlive = false, Interleave = true });
    }

    private async Task EnsureCapacityReminderQuietlyAsync()
    {
        try
        {
            await EnsureCapacityReminderAsync();
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            LogReminderFailed(ex, _shard);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Shard {Shard}: its maintenance reminder could not be registered; the next activation tries again")]
    private partial void LogReminderFailed(Exception exception, string shard);

    private async Task EnsureCapacityReminderAsync()
    {
        var period = MaintenanceReminderPeriod;
        var existing = await this.GetReminder(CapacityReminder);
        if (existing is null)
        {
            await this.RegisterOrUpdateReminder(CapacityReminder, period, period);
        }
    }

    /// <summary>After every transaction: commit metrics, the measured size, the PITR schedule.</summary>
    private sealed class CapacityObserver(TableShardGrain grain) : ICommitObserver
    {
        public void GroupCommitted(int size) => grain.OnGroupCommitted(size);
    }

    private void OnGroupCommitted(int size)
    {
        var tags = ShardMetrics.ShardTag(_shard);
        _metrics.Commits.Add(1, tags);
        _metrics.GroupCommitSize.Record(size, tags);

        // The writer measured the used pages inside the transaction it just committed: no PRAGMA here.
        if (_writer.MeasuredAtCommit)
        {
            ApplyCapacity(_writer.UsedPagesAtCommit * _pageSize);
        }

        _pitr.OnCommitted(_writer.Sequence, _writer.LoggedBytes, Volatile.Read(ref _usedPageBytes));
    }

    /// <summary>Measures used pages ((page_count - freelist_count) * page_size) and the WAL and snapshot files, and updates the limit flag.</summary>
    private long MeasureCapacity(ShardConnection writer)
    {
        // Used pages: freed ones (after DELETE/DROP) are reused before the file grows, so they are room, not size.
        var pages = (writer.ExecuteScalar("PRAGMA page_count") - writer.ExecuteScalar("PRAGMA freelist_count")) * _pageSize;
        _extraBytes = _paths.ExtraFilesSize();
        return ApplyCapacity(pages);
    }

    /// <summary>Sets the size (used pages in bytes + the files last measured) and the limit flag.</summary>
    private long ApplyCapacity(long pageBytes)
    {
        Volatile.Write(ref _usedPageBytes, pageBytes);
        var size = pageBytes + _extraBytes;
        Interlocked.Exchange(ref _sizeBytes, size);
        _writer.CapacityExceeded = size >= _options.MaxShardSizeBytes;
        _writer.NearCapacity = size >= _options.MaxShardSizeBytes / 2;
        _capacity.Set(_shard, size);
        return size;
    }

    private long _extraBytes;

    /// <summary>The used pages in bytes as last measured: what a snapshot reads.</summary>
    private long _usedPageBytes;

    private string BookmarkOf(long sequence) => new Bookmark(sequence, _tenant, _table).ToString();

    /// <summary>Counts an error by code; always false so it can sit in an exception filter without catching.</summary>
    private bool CountError(ShardException error)
    {
        CountExhausted(error);
        var tags = ShardMetrics.ShardTag(_shard);
        tags.Add("code", error.Code.ToWire());
        _metrics.Errors.Add(1, tags);
        return false;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Shard {Shard} finished a restore interrupted by a crash")]
    private partial void LogRestoreRecovered(string shard);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Shard {Shard} could not close what it opened before its opening failed")]
    private partial void LogAbandonFailed(Exception exception, string shard);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Shard {Shard} activated at sequence {Sequence}, {Size} bytes, in {OpenMs:0.0} ms (files {StorageMs:0.0} ms, ownership {AcquireMs:0.0} ms)")]
    private partial void LogActivated(string shard, long sequence, long size, double openMs, double storageMs, double acquireMs);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Shard {Shard} deactivated ({Reason}) in {ElapsedMs:0.0} ms")]
    private partial void LogDeactivated(string shard, string reason, double elapsedMs);
}
