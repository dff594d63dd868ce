using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Concurrency;
using OrleansShards.Grains.Cluster;
using OrleansShards.Grains.Hosting;
using OrleansShards.Grains.Pitr;
using OrleansShards.Grains.Storage;
using OrleansShards.Grains.Writes;

namespace OrleansShards.Grains.Replication;

/// <summary>
/// The copy of one shard on one replica silo, keyed <c>{silo}/{tenant}:{table}</c> and placed on that silo. It holds
/// the shard's file at the same path a primary there would use, applies the primary's batches in order (refusing an
/// older primary's and asking for a missing tail), is seeded with a whole copy when its log cannot follow, and is
/// fenced by a promotion (a newer epoch, kept durably in <c>{file}.fence</c> even before it holds a copy). Its open
/// connections count in the silo's file budget (<see cref="ShardFileBudget"/>) like a primary's: it takes its share
/// before opening, and as the least recently used idle holder it is closed (deactivated) to make room; the next batch
/// opens the copy again.
/// </summary>
[Alias("orleansshards.IShardReplica")]
internal interface IShardReplica : IGrainWithStringKey
{
    /// <summary>Raises the fence to <paramref name="epoch"/> (0: only reads) and returns the copy's status.</summary>
    [Alias("FenceAsync")]
    Task<ReplicaStatus> FenceAsync(long epoch);

    /// <summary>Applies a batch of the primary.</summary>
    [Alias("ApplyAsync")]
    Task<ReplicaApplyResult> ApplyAsync(ReplicaBatch batch);

    /// <summary>Entries after <paramref name="afterSeq"/> (a promotion catching up from the most advanced copy).</summary>
    [Alias("ReadTailAsync")]
    Task<List<ReplicatedEntry>?> ReadTailAsync(long afterSeq, int max);

    /// <summary>
    /// The state that travels beside the log: every idempotency row and the engine's replicated <c>_meta</c> rows (as a
    /// batch without entries), or null without a copy. A promotion that caught up from this copy takes them too, so that a
    /// retry of a write this copy holds is answered from its key instead of running again.
    /// </summary>
    [Alias("ReadStateAsync")]
    Task<ReplicaBatch?> ReadStateAsync();

    /// <summary>The epoch of the entry at <paramref name="seq"/>, or null.</summary>
    [Alias("EntryEpochAsync")]
    Task<long?> EntryEpochAsync(long seq);

    /// <summary>Installs a whole copy received by the silo's agent under <paramref name="seedId"/> (false: fenced by a newer epoch).</summary>
    [Alias("InstallSeedAsync")]
    Task<bool> InstallSeedAsync(string seedId, IReadOnlyList<string> relativePaths, long epoch);

    /// <summary>
    /// Answers a read that allows staleness from this copy (follower read), or null when this copy is not fresh enough
    /// for it (behind its <c>minBookmark</c>, not heard from the primary within its <c>maxStalenessMs</c>, a sharded
    /// table, no copy).
    /// </summary>
    [Alias("ReadAsync"), AlwaysInterleave]
    Task<QueryResult?> ReadAsync(QueryRequest request);

    /// <summary>Deletes this copy (it was replaced by a replica elsewhere) if no newer primary than <paramref name="epoch"/> fenced it.</summary>
    [Alias("DropAsync")]
    Task DropAsync(long epoch);

    /// <summary>
    /// Closes the copy and goes: the shard's primary of <paramref name="epoch"/> opens this file here now (a move or a
    /// promotion). The fence rises to that epoch first, durably: a late batch or seed of an older primary is refused here
    /// from then on, by this activation and any later one.
    /// </summary>
    [Alias("ReleaseAsync")]
    Task ReleaseAsync(long epoch);

    /// <summary>
    /// The copy's upkeep, as a primary's capacity check does it (run by a timer that does not keep the copy open): starts a
    /// snapshot in the background when one is due, prunes the log and snapshots outside the retention window and expired
    /// idempotency keys. Returns the copy's sequence, the oldest logged sequence and its snapshots (null when the copy is not
    /// open here: it is never opened for this).
    /// </summary>
    [Alias("MaintainAsync")]
    Task<ReplicaUpkeep?> MaintainAsync();
}

/// <summary>What a replica's upkeep left: its newest sequence, its oldest logged one (0: none logged) and its snapshots.</summary>
[GenerateSerializer, Immutable, Alias("orleansshards.ReplicaUpkeep")]
internal sealed record ReplicaUpkeep([Id(0)] long Sequence, [Id(1)] long OldestLogged, [Id(2)] IReadOnlyList<long> Snapshots);

[SiloNamePlacement]
internal sealed partial class ShardReplicaGrain(
    IOptions<TableShardOptions> options,
    ClusterView cluster,
    IOptions<PitrOptions> pitrOptions,
    [FromKeyedServices(ShardClock.ServiceKey)] TimeProvider clock,
    IGrainFactory grains,
    ShardFileBudget files,
    ILogger<ShardReplicaGrain> logger) : Grain, IShardReplica, IIncomingGrainCallFilter
{
    private ShardFileBudget.Lease? _lease;

    /// <summary>The writer's share of the budget, taken by the call filter for an open in this call.</summary>
    private bool _reserved;
    private readonly string _root = Path.GetFullPath(options.Value.DataDirectory);
    private ShardPaths _paths = null!;
    private string _silo = null!;
    private ShardConnection? _connection;

    /// <summary>The copy's writer: every batch is applied through it (the same commit pipeline as a primary's writes).</summary>
    private ShardWriter? _writer;
    private ShardConnection? _reader;

    /// <summary>
    /// The copy's snapshots and log retention, as a primary's: without them a replica's log and idempotency keys grew for
    /// as long as it lived, and a promoted copy could restore only as far back as the seed's snapshots. One per open copy.
    /// </summary>
    private PitrCoordinator? _pitr;

    /// <summary>The copy's used pages in bytes as last measured (what a snapshot reads; its schedule weighs the log against it).</summary>
    private long _usedPageBytes;
    private long _fence;
    private string _tenant = null!;
    private string _table = null!;

    /// <summary>
    /// As of when this copy is known current (Unix ms): the build time of the newest applied batch that the primary built
    /// at its newest commit. A bounded follower read's staleness is measured from it.
    /// </summary>
    private long _heardAtMs = long.MinValue;

    public static string KeyOf(string silo, string shard) => silo + "/" + shard;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        var key = this.GetPrimaryKeyString();
        var slash = key.IndexOf('/', StringComparison.Ordinal);
        _silo = key[..slash];
        if (!cluster.IsSelf(_silo))
        {
            this.DeactivateOnIdle();
            throw new ShardException(ShardErrorCode.Unavailable, $"The replica on silo '{_silo}' is not on this silo; retry.");
        }

        (_tenant, _table) = ShardName.Parse(key[(slash + 1)..]);
        _paths = new ShardPaths(_root, _tenant, _table);
        _fence = File.Exists(FencePath) && long.TryParse(File.ReadAllText(FencePath), NumberStyles.None, CultureInfo.InvariantCulture, out var fence) ? fence : 0;
        _lease = files.Open(key, static () => true, CloseForBudget);
        ShardStateBuilder.AllowReplayFor(options.Value.StatementTimeout);

        // The copy's upkeep every capacity period while the copy is active; the timer does not keep it active.
        var period = options.Value.CapacityCheckPeriod;
        this.RegisterGrainTimer(
            async () => await MaintainAsync(),
            new GrainTimerCreationOptions(period, period) { KeepAlive = false });
        return Task.CompletedTask;
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        await CloseAsync();
        _lease?.Dispose();
        _lease = null;
    }

    /// <summary>Every call marks the copy in use: the budget closes idle holders only, the least recently used first.</summary>
    public async Task Invoke(IIncomingGrainCallContext context)
    {
        var lease = _lease;
        lease?.Enter();
        try
        {
            // A follower read never opens the copy (it interleaves and answers null when the copy is closed).
            if (lease is not null && _connection is null && File.Exists(_paths.Database) && context.InterfaceMethod.Name != nameof(ReadAsync))
            {
                // The copy will be opened: take its share of the budget here, where a burst of opens can wait (bounded)
                // for the holders already asked to close, as a primary's open does, instead of being refused at once.
                await lease.ReserveAsync(ShardFileBudget.WriterFiles, ShardFileBudget.ClosingWait);
                _reserved = true;
            }

            await context.Invoke();
        }
        finally
        {
            if (_reserved)
            {
                // Reserved but not used by an open.
                _reserved = false;
                lease?.Release(ShardFileBudget.WriterFiles);
            }

            lease?.Exit();
        }
    }

    private void CloseForBudget() => GrainContext.Deactivate(
        new DeactivationReason(DeactivationReasonCode.ApplicationRequested, "Closed to keep the silo's open files within its budget (least recently used idle replica)."),
        CancellationToken.None);

    private string FencePath => _paths.Database + ".fence";

    public Task<ReplicaStatus> FenceAsync(long epoch)
    {
        RaiseFence(epoch);
        return Task.FromResult(Open() is { } connection ? ReplicaLog.Status(connection, _fence) : new ReplicaStatus(false, _fence, 0, -1));
    }

    public async Task<ReplicaApplyResult> ApplyAsync(ReplicaBatch batch)
    {
        if (batch.Epoch < _fence)
        {
            return new ReplicaApplyResult(ReplicaApplyOutcome.StaleEpoch, -1, _fence);
        }

        if (Open() is null)
        {
            return new ReplicaApplyResult(ReplicaApplyOutcome.NeedsSeed, 0, _fence);
        }

        // Through the copy's writer, off the grain's thread: this call's turn waits for it (the grain is not reentrant
        // but for follower reads, which use their own connection, so nothing else touches this one meanwhile).
        var result = await _writer!.ApplyReplicatedAsync(batch, _fence);
        if (result.Outcome != ReplicaApplyOutcome.Applied)
        {
            LogNotApplied(Key, result.Outcome, batch.Epoch, result.Seq, result.Epoch);
        }
        else
        {
            // The snapshot schedule by count, as after a primary's commit (in the background).
            _pitr?.OnCommitted(result.Seq, _writer.LoggedBytes, _usedPageBytes);
            if (batch.BuiltAtMs > 0)
            {
                // Current as of when the primary built the batch (a tail of a catch-up carries 0: not current yet).
                _heardAtMs = Math.Max(_heardAtMs, batch.BuiltAtMs);
            }

            _sequence = result.Seq;
        }

        return result;
    }

    /// <summary>This copy's newest sequence as of its last applied batch.</summary>
    private long _sequence = -1;

    /// <summary>
    /// Interleaves with the copy's other calls (it never waits for a batch's apply, nor does an apply wait for a slow read:
    /// a replica held by reads would stop acknowledging, and the primary lose its majority). It reads through its own
    /// connection, one read at a time (<see cref="_readGate"/>), and never opens the copy: a copy not open here (closed,
    /// being seeded) answers null, and the read goes to the primary.
    /// </summary>
    public async Task<QueryResult?> ReadAsync(QueryRequest request)
    {
        var sql = request.Query;
        if (string.IsNullOrWhiteSpace(sql))
        {
            throw new ShardException(ShardErrorCode.InvalidArgument, "query must hold a SQL statement.");
        }

        ShardConnection.RejectNul(sql);
        await _readGate.WaitAsync();
        try
        {
            // Checked once the gate is ours: a close (seed, drop, release) may have run while this read waited.
            if (_connection is null || _sequence < 0)
            {
                return null;
            }

            var age = _heardAtMs == long.MinValue ? long.MaxValue : Math.Max(0, ReplicaBatch.Now() - _heardAtMs);
            if (request.MinBookmark is { } bookmark && Bookmark.Parse(bookmark, _tenant, _table).Sequence > _sequence)
            {
                return null;
            }

            if (request.Consistency == Consistency.Bounded && (request.MaxStalenessMs is not { } bound || age > bound))
            {
                return null;
            }

            var reader = _reader ??= OpenReader();
            var sequence = _sequence;
            var outcome = await Task.Run<StatementOutcome?>(() =>
            {
                // A sharded table's base copy is not what a read of the table means: the primary routes it.
                if (reader.ExecuteScalar("SELECT count(*) FROM _meta WHERE key = 'shard:layout'") != 0)
                {
                    return null;
                }

                reader.SetDeadline(options.Value.StatementTimeout);
                reader.Mode = SqlMode.TenantRead;
                try
                {
                    var statement = reader.Prepare(sql);
                    if (!statement.IsReadOnly)
                    {
                        throw new ShardException(ShardErrorCode.InvalidArgument, "query runs read-only statements; send writes to mutation.");
                    }

                    return reader.Run(statement, request.Params);
                }
                finally
                {
                    reader.Mode = SqlMode.Internal;
                    reader.ClearDeadline();
                }
            });
            return outcome is not { } read
                ? null
                : new QueryResult(
                    read.Columns ?? [],
                    (IReadOnlyList<SqlValue[]>?)read.Rows ?? [],
                    read.RowsRead,
                    new QueryMeta("replica", age == long.MaxValue ? 0 : age, new Bookmark(sequence, _tenant, _table).ToString()));
        }
        finally
        {
            _readGate.Release();
        }
    }

    /// <summary>One follower read at a time on <see cref="_reader"/>; a close takes it too before disposing the reader.</summary>
    private readonly SemaphoreSlim _readGate = new(1, 1);

    /// <summary>A read-only connection for follower reads, under the tenant SQL policy and result caps of the shard's own readers.</summary>
    private ShardConnection OpenReader()
    {
        _lease!.Reserve(ShardFileBudget.ReaderFiles);
        ShardConnection? reader = null;
        try
        {
            reader = new ShardConnection(_paths.Database, readOnly: true, options.Value.PlanCacheSize);
            ShardSecurity.Apply(reader);
            reader.MaxResultRows = options.Value.MaxResultRows;
            reader.MaxResultBytes = options.Value.MaxResultBytes;
            return reader;
        }
        catch
        {
            reader?.Dispose();
            _lease.Release(ShardFileBudget.ReaderFiles);
            throw;
        }
    }

    public Task<List<ReplicatedEntry>?> ReadTailAsync(long afterSeq, int max) =>
        Task.FromResult(Open() is { } connection ? ReplicaLog.ReadTail(connection, afterSeq, max) : null);

    public Task<ReplicaBatch?> ReadStateAsync() =>
        Task.FromResult(Open() is { } connection
            ? new ReplicaBatch(
                _fence,
                [],
                [.. connection.Query("SELECT key, at_ms, outcome FROM _idempotency").Select(r => new ReplicatedKey(r[0].AsText, r[1].AsInteger, r[2].AsText))],
                ReplicaLog.ReadMeta(connection))
            : null);

    public Task<long?> EntryEpochAsync(long seq) =>
        Task.FromResult(Open() is { } connection ? ReplicaLog.EntryEpoch(connection, seq) : null);

    public async Task<bool> InstallSeedAsync(string seedId, IReadOnlyList<string> relativePaths, long epoch)
    {
        var agent = grains.GetGrain<ISiloAgent>(_silo);
        if (PrimaryHoldsFile)
        {
            // Not a refusal by a newer epoch (the sender is not fenced by it): the primary here may be an activation on its
            // way out after a move. Retryable.
            await agent.AbortAsync(seedId, relativePaths);
            throw new ShardException(ShardErrorCode.Unavailable, $"Shard {_tenant}:{_table} has its primary open on this silo; its copy here cannot be seeded now.");
        }

        if (epoch < _fence)
        {
            await agent.AbortAsync(seedId, relativePaths);
            return false;
        }

        await CloseAsync(abandonSnapshots: true);

        // Snapshots of an older copy go: the seed brings the primary's. Not the seed's own incoming snapshot files, which
        // the agent received into this same directory (deleting the directory lost them: every seed of a shard with
        // snapshots, e.g. after a restore, failed).
        if (Directory.Exists(_paths.Snapshots))
        {
            foreach (var file in Directory.EnumerateFiles(_paths.Snapshots).Where(f => !f.EndsWith(".move-" + seedId, StringComparison.Ordinal)).ToList())
            {
                FileDurability.DeleteIfExists(file);
            }
        }

        await agent.InstallAsync(seedId, relativePaths);
        LogSeeded(Key, epoch);
        return true;
    }

    public async Task DropAsync(long epoch)
    {
        // A copy that has seen a newer epoch than the asking primary's (fenced, or seeded by a newer primary) is not its to drop.
        long seen;
        try
        {
            seen = Math.Max(_fence, Open() is { } connection ? ReplicaLog.FileEpoch(connection) : 0);
        }
        catch (ShardException)
        {
            seen = long.MaxValue; // the copy cannot be read now: kept (the start-up sweep finds it if it is stale)
        }

        await CloseAsync(abandonSnapshots: true);
        if (epoch >= seen)
        {
            foreach (var path in new[] { _paths.Database, _paths.Database + "-wal", _paths.Database + "-shm", FencePath })
            {
                FileDurability.DeleteIfExists(path);
            }

            if (Directory.Exists(_paths.Snapshots))
            {
                Directory.Delete(_paths.Snapshots, recursive: true);
            }

            LogDropped(Key, epoch);
        }

        this.DeactivateOnIdle();
    }

    /// <summary>Raises the fence to <paramref name="epoch"/>, durably (in <c>{file}.fence</c>), when it is higher.</summary>
    private void RaiseFence(long epoch)
    {
        if (epoch > _fence)
        {
            Directory.CreateDirectory(_paths.TenantDirectory);
            var temporary = FencePath + ".tmp";
            File.WriteAllText(temporary, epoch.ToString(CultureInfo.InvariantCulture));
            FileDurability.ReplaceDurably(temporary, FencePath);
            _fence = epoch;
        }
    }

    public async Task ReleaseAsync(long epoch)
    {
        RaiseFence(epoch);

        // The primary opens this very file next, here: closing must not first checkpoint the WAL into it (a seeded copy's
        // WAL holds megabytes, and the checkpoint's writes and fsyncs held the moved shard's writes for ~100 ms). The
        // WAL stays, complete and durable; the primary's connection reads it and checkpoints in its own time.
        _connection?.SkipCheckpointOnClose();
        _reader?.SkipCheckpointOnClose();

        await CloseAsync(abandonSnapshots: true);
        this.DeactivateOnIdle();
    }

    public async Task<ReplicaUpkeep?> MaintainAsync()
    {
        // Never opens the copy: a closed one has nothing to keep up (and a released one is the primary's file now).
        if (_connection is null || _writer is not { } writer || _pitr is not { } pitr)
        {
            return null;
        }

        if (PrimaryHoldsFile)
        {
            // Opened by a late call before the primary here opened the file: this copy lets go of it, untouched.
            await CloseAsync(abandonSnapshots: true);
            this.DeactivateOnIdle();
            return null;
        }

        var pitrEnabled = pitrOptions.Value.Enabled;
        pitr.StartIfDue(writer.Sequence, writer.LoggedBytes, _usedPageBytes);
        var horizon = clock.GetUtcNow().ToUnixTimeMilliseconds() - (long)options.Value.IdempotencyWindow.TotalMilliseconds;
        long oldest = 0;
        await writer.RunMaintenanceAsync(connection =>
        {
            if (pitrEnabled)
            {
                pitr.Prune(connection);
            }

            Measure(connection);
            connection.Execute("BEGIN IMMEDIATE");
            try
            {
                // The primary's keys carry its commit times: a key expires here when it does there.
                connection.ExecuteInternal("DELETE FROM _idempotency WHERE at_ms < ?", horizon);
                connection.Execute("COMMIT");
            }
            catch
            {
                connection.Execute("ROLLBACK");
                throw;
            }

            oldest = connection.ExecuteScalar("SELECT coalesce(min(seq), 0) FROM _changes");
            return Task.CompletedTask;
        });
        return new ReplicaUpkeep(writer.Sequence, oldest, pitr.Snapshots.List());
    }

    /// <summary>Measures the copy's used pages (freed pages are room, not size).</summary>
    private void Measure(ShardConnection connection) =>
        Volatile.Write(
            ref _usedPageBytes,
            ShardWriter.UsedPages(connection) * connection.ExecuteScalar("PRAGMA page_size"));

    private string Key => this.GetPrimaryKeyString();

    /// <summary>Whether the shard's primary activation on this silo has the file open.</summary>
    private bool PrimaryHoldsFile => files.PrimaryOpen(ShardName.Format(_tenant, _table));

    private ShardConnection? Open()
    {
        if (_connection is not null)
        {
            return _connection;
        }

        if (!File.Exists(_paths.Database))
        {
            return null;
        }

        // The shard's primary has this very file open here (the copy was released to it: a move or a promotion). A late call
        // of an older primary's pipeline must not open it as a copy (its upkeep would write to the primary's file).
        if (PrimaryHoldsFile)
        {
            this.DeactivateOnIdle();
            throw new ShardException(ShardErrorCode.Unavailable, $"Shard {_tenant}:{_table} has its primary on this silo now; its replica here is gone.");
        }

        // Its share of the silo's file budget first (taken by the call filter, else now: OVERLOADED, retryable, when no
        // idle holder can make room).
        if (_reserved)
        {
            _reserved = false;
        }
        else
        {
            _lease!.Reserve(ShardFileBudget.WriterFiles);
        }

        ShardConnection? connection = null;
        try
        {
            connection = new ShardConnection(_paths.Database, readOnly: false, planCacheSize: 16);

            // Durable before the answer: an acknowledgement counts this copy in the majority.
            connection.Execute("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = OFF;");
            ShardSchema.Migrate(connection);
            ShardStateBuilder.SetTriggers(connection, enabled: false);
        }
        catch (Exception ex)
        {
            connection?.Dispose();
            _lease!.Release(ShardFileBudget.WriterFiles);
            if (ex is IOException io && ShardFileBudget.IsTooManyOpenFiles(io))
            {
                files.ReportExhausted();
                throw new ShardException(ShardErrorCode.Overloaded, "The silo cannot open more files now; retry shortly.", ex);
            }

            if (ex is ShardException { SqliteCode: SqliteResultCodes.CantOpen })
            {
                files.ReportExhausted();
            }

            throw;
        }

        _connection = connection;
        _writer = new ShardWriter(connection, options.Value, clock, logger);
        _pitr = new PitrCoordinator(pitrOptions.Value, _paths, clock, logger);
        _pitr.Open(connection, _writer.Sequence);
        Measure(connection);
        return connection;
    }

    /// <summary>
    /// Closes the copy: a running snapshot is waited for, or stopped when <paramref name="abandonSnapshots"/> (the file is
    /// about to be replaced, deleted or opened by a primary, whose own schedule starts from the snapshots on disk).
    /// </summary>
    private async Task CloseAsync(bool abandonSnapshots = false)
    {
        if (_pitr is { } pitr)
        {
            if (abandonSnapshots)
            {
                pitr.AbandonSnapshots();
            }

            await pitr.WaitForSnapshotAsync();
            _pitr = null;
        }

        if (_writer is not null)
        {
            // Its loop ends first: nothing is queued (the grain's calls wait for their applies), so this returns at once.
            await _writer.DisposeAsync();
            _writer = null;
        }

        // A follower read in progress (it interleaves) finishes with the reader first.
        await _readGate.WaitAsync();
        try
        {
            CloseConnections();
        }
        finally
        {
            _readGate.Release();
        }
    }

    private void CloseConnections()
    {
        if (_reader is not null)
        {
            _reader.Dispose();
            _reader = null;
            _lease?.Release(ShardFileBudget.ReaderFiles);
        }

        if (_connection is not null)
        {
            _connection.Dispose();
            _connection = null;
            _lease?.Release(ShardFileBudget.WriterFiles);
        }

        _sequence = -1;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Replica {Replica}: batch of epoch {BatchEpoch} not applied ({Outcome}); copy at {Seq}, epoch {Epoch}")]
    private partial void LogNotApplied(string replica, ReplicaApplyOutcome outcome, long batchEpoch, long seq, long epoch);

    [LoggerMessage(Level = LogLevel.Information, Message = "Replica {Replica}: dropped (replaced elsewhere by the primary of epoch {Epoch})")]
    private partial void LogDropped(string replica, long epoch);

    [LoggerMessage(Level = LogLevel.Information, Message = "Replica {Replica}: seeded with a whole copy at epoch {Epoch}")]
    private partial void LogSeeded(string replica, long epoch);
}
