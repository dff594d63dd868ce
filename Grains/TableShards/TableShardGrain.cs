using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OrleansShards.Grains.Caching;
using OrleansShards.Grains.Cluster;
using OrleansShards.Grains.Diagnostics;
using OrleansShards.Grains.Hosting;
using OrleansShards.Grains.Pitr;
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
    private readonly ILogger<TableShardGrain> _logger;
    private readonly ConcurrentDictionary<string, InteractiveTransaction> _transactions = new(StringComparer.Ordinal);

    private ShardPaths _paths = null!;
    private PitrCoordinator _pitr = null!;
    private ShardConnection _writerConnection = null!;
    private ShardWriter _writer = null!;
    private ReaderPool _readers = null!;
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

    /// <summary>True once the file is open and this activation is the shard's primary.</summary>
    private bool _opened;
    private IGrainTimer? _capacityTimer;

    public TableShardGrain(
        IOptions<TableShardOptions> options,
        IOptions<PitrOptions> pitrOptions,
        ShardMetrics metrics,
        ShardCapacityRegistry capacity,
        ShardCacheServices cache,
        [FromKeyedServices(ShardClock.ServiceKey)] TimeProvider clock,
        IGrainFactory grains,
        ILogger<TableShardGrain> logger)
    {
        _clock = clock;

        // The silo's factory, usable from any thread: the writer loop and plain classes call grains too.
        _grains = grains;
        _cache = cache;
        _interest = new CacheInterest(cache.Options.EntryLifetime);
        _options = options.Value;
        _pitrOptions = pitrOptions.Value;
        _metrics = metrics;
        _capacity = capacity;
        _logger = logger;
    }

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _shard = this.GetPrimaryKeyString();
        (_tenant, _table) = ShardName.Parse(_shard);
        _activatedAtMs = TimeProvider.GetUtcNow().ToUnixTimeMilliseconds();
        _paths = new ShardPaths(_options.DataDirectory, _tenant, _table);
        _pitr = new PitrCoordinator(_pitrOptions, _paths, TimeProvider, _logger);
        if (!await MayOpenAsync())
        {
            return;
        }

        Directory.CreateDirectory(_paths.TenantDirectory);
        OpenStorage();
        if (!await AcquireAsync())
        {
            await CloseStorageAsync();
            _capacity.Remove(_shard);
            return;
        }

        _opened = true;
        LoadSharding();
        OpenCache();
        await ResumeShardOperationAsync();
        await EnsureCapacityReminderAsync();
        StartCapacityTimer();
        LogActivated(_shard, _writer.Sequence, _sizeBytes);
    }

    /// <summary>The shards' clock (a fake one in tests); Orleans keeps its own.</summary>
    private TimeProvider TimeProvider => _clock;

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

        ThrowIfRefusing();
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

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        if (!_opened)
        {
            // Not this silo's shard (see TableShardGrain.Cluster): nothing was opened.
            return;
        }

        _capacityTimer?.Dispose();
        await CloseCacheAsync();
        if (!_destroyed)
        {
            await CloseStorageAsync();
        }

        if (_movedTo is not null && _opened)
        {
            // Moved to another silo (TableShardGrain.Move): this copy is retired.
            DeleteFiles();
        }

        _capacity.Remove(_shard);
        _transactions.Clear();
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
            _pageSize = _writerConnection.ExecuteScalar("PRAGMA page_size");
            _writerConnection.Execute($"PRAGMA max_page_count = {Math.Max(1, _options.MaxShardSizeBytes / _pageSize)}");
            ConfigureConnection(_writerConnection);
        }
        catch
        {
            _writerConnection.Dispose();
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
            [new FenceObserver(this), new CapacityObserver(this), new CacheObserver(this)]);
        _pitr.Open(_writerConnection, _writer.Sequence);
        _readers = new ReaderPool(_options.ReaderPoolSize, () =>
        {
            var reader = new ShardConnection(_paths.Database, readOnly: true, _options.PlanCacheSize);
            ConfigureConnection(reader);
            return reader;
        });
        MeasureCapacity(_writerConnection);
        AttachCache();
        if (_epoch != 0)
        {
            // Reopened after the file was replaced (restore, partition reset): the copy's epoch may be older.
            StampEpoch(_epoch, reopened: true);
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
        var tags = ShardMetrics.ShardTag(_shard);
        tags.Add("code", error.Code.ToWire());
        _metrics.Errors.Add(1, tags);
        return false;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Shard {Shard} finished a restore interrupted by a crash")]
    private partial void LogRestoreRecovered(string shard);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Shard {Shard} activated at sequence {Sequence}, {Size} bytes")]
    private partial void LogActivated(string shard, long sequence, long size);
}
