using System.Text.Json;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using OrleansShards.Grains.Hosting;
using OrleansShards.Grains.Pitr;
using OrleansShards.Grains.Sharding;
using OrleansShards.Grains.Storage;

namespace OrleansShards.Grains.Writes;

/// <summary>
/// The single writer of a shard, with group commit. Concurrent mutations are drained from a queue
/// into one SQLite transaction (up to <see cref="TableShardOptions.MaxGroupCommitSize"/>), each inside
/// its own savepoint so a failing statement fails only itself. In the same transaction the writer
/// appends the change-log row and the idempotency rows, then COMMITs; only then is each work
/// acknowledged, with the commit's sequence. DDL and maintenance run alone.
/// </summary>
internal sealed partial class ShardWriter : IAsyncDisposable
{
    private readonly Channel<WriteWork> _queue = Channel.CreateUnbounded<WriteWork>(new UnboundedChannelOptions { SingleReader = true });
    private readonly ShardConnection _connection;
    private readonly TableShardOptions _options;

    /// <summary>The deadline of a tenant write: the lower of the write and the statement timeout.</summary>
    private readonly TimeSpan _writeTimeout;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Task _loop;
    private readonly Action _begin;
    private readonly Action _commit;

    /// <summary>
    /// Creates the writer of <paramref name="connection"/>. <paramref name="capture"/> records each transaction's
    /// changeset for the change log; <paramref name="observers"/> are told about commits, in this order.
    /// </summary>
    public ShardWriter(
        ShardConnection connection,
        TableShardOptions options,
        TimeProvider time,
        ILogger logger,
        IChangeCapture? capture = null,
        IReadOnlyList<ICommitObserver>? observers = null)
    {
        _connection = connection;
        Capture = capture;
        _observers = observers ?? [];
        _options = options;
        _writeTimeout = options.WriteStatementTimeout < options.StatementTimeout ? options.WriteStatementTimeout : options.StatementTimeout;
        _time = time;
        _logger = logger;
        Sequence = ChangeLog.CurrentSequence(connection);
        _lastAtMs = ChangeLog.NewestAtMs(connection);
        _begin = () => _connection.ExecuteCached("BEGIN IMMEDIATE");
        _commit = () => _connection.ExecuteCached("COMMIT");
        using (ExecutionContext.SuppressFlow())
        {
            _loop = Task.Run(LoopAsync);
        }
    }

    /// <summary>The <c>at_ms</c> of the newest change-log row: each new row gets at least this, so <c>at_ms</c> never decreases with <c>seq</c>.</summary>
    private long _lastAtMs;

    /// <summary>The commit whose works <see cref="CommitGroupAsync"/> just acknowledged, for <see cref="ICommitObserver.Acknowledged"/>.</summary>
    private CommittedGroup? _acknowledged;

    /// <summary>The sequence of the newest commit.</summary>
    public long Sequence { get; private set; }

    /// <summary>The epoch written into each change-log row: the primary's (0 embedded). Set before any work is queued.</summary>
    public long Epoch { get; set; }

    /// <summary>
    /// The output gate of a replicated shard: after COMMIT, the works of a commit are acknowledged only once it
    /// returned (a majority of the shard's copies hold the commit); when it throws, they fail with its error.
    /// </summary>
    public IReplicationGate? Replication { get; set; }

    /// <summary>Captures each transaction's changeset for the change log.</summary>
    public IChangeCapture? Capture { get; }

    private readonly IReadOnlyList<ICommitObserver> _observers;

    /// <summary>
    /// True once the shard passed its size limit. Writes still run, each in its savepoint, but one that
    /// makes the database use more pages is rolled back with <c>CAPACITY_EXCEEDED</c>; so DELETE, DROP and
    /// in-place updates work and a full shard can recover.
    /// </summary>
    public bool CapacityExceeded { get; set; }

    /// <summary>
    /// True once the shard's measured size is at least half its limit: from then on every commit measures its
    /// used pages. Below that, a commit measures them every <see cref="MeasureEveryCommits"/> commits, or when
    /// its changeset is large, or when it changed the schema.
    /// </summary>
    public bool NearCapacity { get; set; }

    /// <summary>
    /// Pages in use (page_count - freelist_count) as the newest measured transaction left them, measured inside
    /// it just before COMMIT, where the writer already holds the database: no read transaction of its own.
    /// </summary>
    public long UsedPagesAtCommit { get; private set; }

    /// <summary>Whether the newest commit measured <see cref="UsedPagesAtCommit"/>.</summary>
    public bool MeasuredAtCommit { get; private set; }

    /// <summary>Commits between two measurements of the used pages while the shard is below half its limit.</summary>
    public const int MeasureEveryCommits = 16;

    /// <summary>A changeset at least this large (bytes) is measured whatever the count: the commit may have grown the file a lot.</summary>
    private const int MeasureChangesetBytes = 64 * 1024;

    private int _commitsSinceMeasure;

    /// <summary>Transactions committed.</summary>
    public long Commits { get; private set; }

    /// <summary>Changeset bytes this writer committed to the change log (what the snapshot policy weighs).</summary>
    public long LoggedBytes { get; private set; }

    /// <summary>Rows written by tenant statements.</summary>
    public long RowsWritten { get; private set; }


    /// <summary>Queues <paramref name="work"/>; its task completes once the work is committed (or failed).</summary>
    public Task<WriteOutcome> EnqueueAsync(WriteWork work)
    {
        if (!_queue.Writer.TryWrite(work))
        {
            throw new ShardException(ShardErrorCode.Retryable, "The shard is closing; retry.");
        }

        return work.Task;
    }

    /// <summary>
    /// Runs <paramref name="write"/> in a transaction of its own through the commit pipeline: its changes are captured,
    /// logged under a new sequence and outboxed like a tenant write. SQL it runs at top level is the engine's; whatever
    /// a tenant trigger does in it is judged by the tenant policy. With <paramref name="foreignKeysOff"/> foreign keys
    /// are off for that transaction. Completes once committed; returns the commit's sequence.
    /// </summary>
    public async Task<long> RunEngineWriteAsync(Action<ShardConnection> write, bool foreignKeysOff = false) =>
        (await EnqueueAsync(new WriteWork(write, foreignKeysOff)).ConfigureAwait(false)).Sequence;

    /// <summary>Runs <paramref name="action"/> on the writer connection, alone, between transactions.</summary>
    public async Task RunMaintenanceAsync(Func<ShardConnection, Task> action) =>
        await EnqueueAsync(new WriteWork(WriteKind.Maintenance, [], maintenance: action)).ConfigureAwait(false);

    /// <summary>
    /// Announces a restore (committed by the engine swapping the shard file, already reflected in
    /// <see cref="Sequence"/>) to <see cref="ICommitObserver.Committed"/> and <see cref="ICommitObserver.Acknowledged"/>, on the writer's loop like every commit.
    /// </summary>
    public Task AnnounceRestoreAsync(long restoredTo, long atUnixMs) => RunMaintenanceAsync(_ =>
    {
        var restore = new CommittedGroup(Sequence, atUnixMs, null, null, restoredTo);
        foreach (var observer in _observers)
        {
            observer.Committed(restore);
        }

        RunAcknowledged(restore);
        return Task.CompletedTask;
    });

    /// <summary>The remembered outcome of <paramref name="key"/>, or null; a remembered error is thrown.</summary>
    public async Task<WriteOutcome?> FindIdempotentAsync(string key, string requestHash)
    {
        IdempotencyHash.CheckKey(key);
        StoredOutcome? stored = null;
        await RunMaintenanceAsync(_ =>
        {
            stored = LoadIdempotent(key);
            if (stored?.RequestHash is { } storedHash && storedHash != requestHash)
            {
                stored = Mismatch(key);
            }

            return Task.CompletedTask;
        }).ConfigureAwait(false);
        if (stored is null)
        {
            return null;
        }

        if (stored.ErrorCode is { } code)
        {
            throw new ShardException(ShardErrorCodes.FromWire(code), stored.ErrorMessage ?? code);
        }

        return new WriteOutcome(stored.Results ?? [], stored.Sequence, Replayed: true);
    }

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _loop.ConfigureAwait(false);
    }

    private async Task LoopAsync()
    {
        var reader = _queue.Reader;
        var group = new List<WriteWork>(_options.MaxGroupCommitSize);
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            group.Clear();
            while (group.Count < _options.MaxGroupCommitSize && reader.TryPeek(out var next))
            {
                var alone = next.Kind is WriteKind.Ddl or WriteKind.Maintenance or WriteKind.Engine or WriteKind.Replicated;
                if (alone && group.Count > 0)
                {
                    break;
                }

                reader.TryRead(out _);
                group.Add(next);
                if (alone)
                {
                    break;
                }
            }

            // The group list is reused for the next group only after this one finished.
            if (await RunGroupAsync(group).ConfigureAwait(false) is { } committed)
            {
                // Off this thread first: the continuations of the works just acknowledged were queued to
                // this thread's local queue, so they run next, here, instead of waiting for an idle thread
                // to steal them while the commit's follow-up work runs.
                await Task.Yield();
                RunAcknowledged(committed);
            }
        }
    }

    /// <summary>
    /// Runs one group on the writer loop: a maintenance work, or transactions until every work is committed or
    /// failed. Returns the commit whose <see cref="ICommitObserver.Acknowledged"/> step is due, if any. Never throws: a fault fails
    /// the group's works.
    /// </summary>
    private async Task<CommittedGroup?> RunGroupAsync(List<WriteWork> group)
    {
        try
        {
            if (group is [{ Kind: WriteKind.Replicated } replicated])
            {
                return await ApplyReplicatedAsync(replicated).ConfigureAwait(false);
            }

            if (group is [{ Kind: WriteKind.Maintenance } maintenance])
            {
                await maintenance.Maintenance!(_connection).ConfigureAwait(false);
                maintenance.Succeed(new WriteOutcome([], Sequence));
                return null;
            }

            var foreignKeysOff = group is [{ Kind: WriteKind.Engine, ForeignKeysOff: true }];
            if (foreignKeysOff)
            {
                // Only outside a transaction: SQLite ignores this pragma inside one.
                _connection.Execute("PRAGMA foreign_keys = OFF");
            }

            try
            {
                var pending = group;
                while (pending.Count > 0)
                {
                    pending = await CommitGroupAsync(pending).ConfigureAwait(false);
                }
            }
            finally
            {
                if (foreignKeysOff)
                {
                    _connection.Execute("PRAGMA foreign_keys = ON");
                }
            }

            var committed = _acknowledged;
            _acknowledged = null;
            return committed;
        }
        catch (Exception ex)
        {
            LogWriterFault(ex);
            try
            {
                _connection.ClearDeadline();
                if (!TransactionRolledBack())
                {
                    // Never leave a transaction open behind a fault: the next group's BEGIN would fail.
                    _connection.Execute("ROLLBACK");
                }
            }
            catch (Exception rollback)
            {
                // Even then every work of the group gets its answer: a write whose task never completes hangs its caller.
                LogWriterFault(rollback);
            }

            var error = ex as ShardException ?? new ShardException(ShardErrorCode.Internal, "The write failed: " + ex.Message, ex);
            foreach (var work in group)
            {
                work.Fail(error);
            }

            return null;
        }
    }

    private void RunAcknowledged(CommittedGroup committed)
    {
        foreach (var observer in _observers)
        {
            try
            {
                observer.Acknowledged(committed);
            }
            catch (Exception ex)
            {
                LogWriterFault(ex);
            }
        }
    }

    /// <summary>Runs one transaction. Returns the works to run again when SQLite rolled the whole transaction back.</summary>
    private async Task<List<WriteWork>> CommitGroupAsync(List<WriteWork> group)
    {
        foreach (var work in group)
        {
            work.Reset();
        }

        try
        {
            await BusyRetry.RunAsync(_begin, _options.BusyRetryAttempts, TimeProvider.System).ConfigureAwait(false);
        }
        catch (ShardException ex)
        {
            foreach (var work in group)
            {
                work.Fail(ex);
            }

            return [];
        }

        try
        {
            foreach (var observer in _observers)
            {
                observer.Began(_connection);
            }
        }
        catch (ShardException ex)
        {
            _connection.Execute("ROLLBACK");
            foreach (var work in group)
            {
                work.Fail(ex);
            }

            return [];
        }

        using var capture = Capture?.Begin(_connection, schemaChange: group is [{ Kind: WriteKind.Ddl }]);
        Dictionary<string, WriteWork>? keysInGroup = null;
        var changed = false;
        string? ddl = null;
        foreach (var work in group)
        {
            if (work.IdempotencyKey is { } key)
            {
                keysInGroup ??= new Dictionary<string, WriteWork>(StringComparer.Ordinal);
                if (keysInGroup.TryGetValue(key, out var first))
                {
                    work.Replay = first.RequestHash != work.RequestHash
                        ? Mismatch(key)
                        : first.Error is null ? new StoredOutcome(first.Results, -1) : ToStored(first.Error, -1);
                    continue;
                }

                if (LoadIdempotent(key) is { } stored)
                {
                    work.Replay = stored.RequestHash is { } storedHash && storedHash != work.RequestHash ? Mismatch(key) : stored;
                    continue;
                }

                keysInGroup[key] = work;
            }

            _connection.ExecuteCached("SAVEPOINT w");
            capture?.WorkStarted();
            try
            {
                var usedBefore = CapacityExceeded || work.NoGrowth ? UsedPages() : -1;
                _connection.SetDeadline(work.Kind is WriteKind.Mutation or WriteKind.Atomic ? _writeTimeout : _options.StatementTimeout);
                try
                {
                    Execute(work);
                }
                catch (ShardException full) when (usedBefore >= 0 && full.Code == ShardErrorCode.CapacityExceeded)
                {
                    // No free page was left to grow into (SQLITE_FULL at max_page_count): the same refusal as below.
                    throw SizeLimitReached(full);
                }

                ThrowIfDeferredForeignKeysUnresolved();
                if (capture?.TakeUnkeyedRows() > 0 && work.Kind != WriteKind.Engine)
                {
                    // Unlogged, the row would be missing from every replica, restore and moved copy: refused like a NULL
                    // in a NOT NULL column.
                    throw new ShardException(
                        ShardErrorCode.ConstraintViolation,
                        "NOT NULL constraint failed: a primary key value is NULL (rows are logged by their primary key; declare its columns NOT NULL or use INTEGER PRIMARY KEY)");
                }

                if (usedBefore >= 0 && CapacityExceeded && UsedPages() > usedBefore)
                {
                    throw SizeLimitReached(null);
                }

                // Over the tenant's quota, a DELETE may still split a few pages (index entries rewritten by ON DELETE SET
                // NULL): a little slack, not a trigger's rows — a row inserted by a trigger is growth however small (else
                // one small insert per request would add up without bound).
                if (usedBefore >= 0 && work.NoGrowth && (capture?.RowsInserted > 0 || UsedPages() > usedBefore + NoGrowthSlackPages))
                {
                    throw OverQuota();
                }

                if (work.DryRun)
                {
                    // Checked, not kept: undone like a failed work, and answered as it ran.
                    _connection.Execute("ROLLBACK TO w");
                    capture?.WorkRolledBack();
                    _connection.Execute("RELEASE w");
                    continue;
                }

                _connection.ExecuteCached("RELEASE w");
                changed |= work.ChangedData;
                if (work.Kind == WriteKind.Ddl)
                {
                    ddl = string.Join(";\n", work.Statements.Select(s => s.Query));
                }
            }
            catch (ShardException ex)
            {
                work.Error = ex;
                if (TransactionRolledBack())
                {
                    // SQLite rolled back the whole transaction (e.g. disk full, interrupt): this work fails,
                    // the others were not acknowledged and run again in a fresh transaction.
                    work.Fail(ex);
                    return group.Where(w => !ReferenceEquals(w, work)).ToList();
                }

                _connection.Execute("ROLLBACK TO w");
                capture?.WorkRolledBack();
                _connection.Execute("RELEASE w");
            }
            finally
            {
                _connection.ClearDeadline();
            }
        }

        // Monotonic along seq (a clock step back repeats the last time), so time lookups can binary-search by seq.
        var nowMs = Math.Max(_time.GetUtcNow().ToUnixTimeMilliseconds(), _lastAtMs);
        var sequence = Sequence;
        byte[]? changeset = null;
        List<Replication.ReplicatedKey>? idempotencyRows = null;
        long usedPages;
        try
        {
            // The net changes decide too: a statement may change rows that sqlite3_changes does not count
            // (trigger and view writes), and the log must hold every change.
            changeset = capture?.TakeChangeset();
            changed |= changeset is { Length: > 0 };
            if (changed)
            {
                sequence++;
                _connection.ExecuteInternal(
                    "INSERT INTO _changes(seq, at_ms, kind, changeset, ddl, epoch) VALUES (?, ?, ?, ?, ?, ?)",
                    sequence, nowMs, ddl is null ? 0 : 1, changeset, ddl, Epoch);

                // No per-commit '_meta commit:seq' update: the sequence is max(seq) of this row at open (ChangeLog.CurrentSequence).
                if (OutboxPayloadOf(new CommitContext(_connection, sequence, nowMs, changeset, ddl)) is { } payload)
                {
                    _connection.ExecuteInternal("INSERT OR REPLACE INTO _outbox(seq, payload) VALUES (?, ?)", sequence, payload);
                }
            }

            foreach (var work in keysInGroup?.Values ?? Enumerable.Empty<WriteWork>())
            {
                var stored = (work.Error is null ? new StoredOutcome(work.Results, sequence) : ToStored(work.Error, sequence)) with { RequestHash = work.RequestHash };
                if (work.Error is null || IsDeterministic(work.Error))
                {
                    var outcome = JsonSerializer.Serialize(stored, GrainsJsonContext.Default.StoredOutcome);
                    _connection.ExecuteInternal(
                        "INSERT OR REPLACE INTO _idempotency(key, at_ms, outcome) VALUES (?, ?, ?)",
                        work.IdempotencyKey!, nowMs, outcome);
                    if (Replication is not null)
                    {
                        (idempotencyRows ??= []).Add(new Replication.ReplicatedKey(work.IdempotencyKey!, nowMs, outcome));
                    }
                }
            }

            // The single writer: COMMIT leaves exactly the pages the transaction holds now. Two PRAGMAs cost about
            // 5 µs, a few percent of a lone insert, so far below the limit they run only every few commits.
            var measure = CapacityExceeded || NearCapacity || ddl is not null || changeset is { Length: >= MeasureChangesetBytes }
                || _commitsSinceMeasure + 1 >= MeasureEveryCommits;
            usedPages = measure ? UsedPages() : -1;
            await BusyRetry.RunAsync(_commit, _options.BusyRetryAttempts, TimeProvider.System).ConfigureAwait(false);
        }
        catch (ShardException ex)
        {
            if (!TransactionRolledBack())
            {
                _connection.Execute("ROLLBACK");
            }

            foreach (var work in group)
            {
                work.Fail(ex);
            }

            return [];
        }

        Sequence = sequence;
        if (changed)
        {
            _lastAtMs = nowMs;
            LoggedBytes += changeset?.Length ?? 0;
        }

        Commits++;
        MeasuredAtCommit = usedPages >= 0;
        if (MeasuredAtCommit)
        {
            UsedPagesAtCommit = usedPages;
            _commitsSinceMeasure = 0;
        }
        else
        {
            _commitsSinceMeasure++;
        }

        foreach (var observer in _observers)
        {
            observer.GroupCommitted(group.Count);
        }

        var committed = changed ? new CommittedGroup(sequence, nowMs, changeset, ddl) { Epoch = Epoch, IdempotencyRows = idempotencyRows } : null;
        if (committed is not null)
        {
            foreach (var observer in _observers)
            {
                observer.Committed(committed);
            }
        }

        // The output gate: nothing of this commit is acknowledged before a majority of the shard's copies hold it.
        // When that fails the commit stays here (a later commit or the next activation ships it) but its works
        // answer the gate's error: their outcome is unknown to the caller, never acknowledged without a majority.
        // A group that changed nothing may still have stored idempotency keys (a write that matched no row, or a
        // deterministic error): they are replicated too, or a retry after a failover would run again on the new primary.
        ShardException? unreplicated = null;
        var replicated = committed ?? (idempotencyRows is { Count: > 0 }
            ? new CommittedGroup(sequence, nowMs, null, null) { Epoch = Epoch, IdempotencyRows = idempotencyRows, KeysOnly = true }
            : null);
        if (replicated is not null && Replication is { } gate)
        {
            try
            {
                await gate.ReplicateAsync(replicated).ConfigureAwait(false);
            }
            catch (ShardException ex)
            {
                unreplicated = ex;
            }
        }

        foreach (var work in group)
        {
            if (unreplicated is not null)
            {
                work.Fail(unreplicated);
            }
            else if (work.Replay is { } replay)
            {
                if (replay.ErrorCode is { } code)
                {
                    work.Fail(new ShardException(ShardErrorCodes.FromWire(code), replay.ErrorMessage ?? code));
                }
                else if (replay.Sequence < 0)
                {
                    // A duplicate inside this same group: the first one's outcome, now committed.
                    var first = keysInGroup![work.IdempotencyKey!];
                    if (first.Error is { } firstError)
                    {
                        work.Fail(firstError);
                    }
                    else
                    {
                        work.Succeed(new WriteOutcome(first.Results!, sequence, Replayed: true));
                    }
                }
                else
                {
                    work.Succeed(new WriteOutcome(replay.Results ?? [], replay.Sequence, Replayed: true));
                }
            }
            else if (work.Error is { } error)
            {
                work.Fail(error);
            }
            else
            {
                // Counted only once committed: rows of a rolled-back savepoint or transaction were never written.
                RowsWritten += work.RowsChanged;
                work.Succeed(new WriteOutcome(work.Results!, sequence));
            }
        }

        _acknowledged = committed is { HasAcknowledgedWork: true } ? committed : null;
        return [];
    }

    private byte[]? OutboxPayloadOf(CommitContext commit)
    {
        foreach (var observer in _observers)
        {
            if (observer.BeforeCommit(commit) is { } payload)
            {
                return payload;
            }
        }

        return null;
    }

    private void Execute(WriteWork work)
    {
        if (work.EngineWrite is { } engine)
        {
            var previous = _connection.Mode;
            _connection.Mode = SqlMode.Engine;
            try
            {
                engine(_connection);
            }
            finally
            {
                _connection.Mode = previous;
            }

            // Whether rows changed is decided by the changeset (the capture sees every change).
            work.Results = [];
            return;
        }

        if (work.KeyCheck is { } check)
        {
            ShardKeyGuard.Of(_connection).Run(check, () => ExecuteStatements(work));
        }
        else
        {
            ExecuteStatements(work);
        }
    }

    private void ExecuteStatements(WriteWork work)
    {
        var mode = work.Kind == WriteKind.Ddl ? SqlMode.TenantDdl : SqlMode.TenantWrite;
        var results = new StatementResult[work.Statements.Count];

        // The result cap holds for a work's statements together, not only for each (a batch or a transaction's COMMIT of
        // thousands of statements, each under the cap, held them all in memory at once).
        var cap = mode == SqlMode.TenantWrite && results.Length > 1 ? new ResultCap(_connection.MaxResultRows, _connection.MaxResultBytes) : null;
        for (var i = 0; i < results.Length; i++)
        {
            var statement = work.Statements[i];
            StatementOutcome outcome;
            try
            {
                try
                {
                    outcome = work.Kind == WriteKind.Ddl
                        ? RunDdl(statement.Query)
                        : _connection.RunTenant(statement.Query, statement.Params, mode);
                }
                catch (ShardException ex) when (work.KeyCheck is not null && _connection.KeyGuard?.Refusal(ex) is { } refusal)
                {
                    throw refusal;
                }

                if (cap is not null && outcome.Rows is { Count: > 0 } rows)
                {
                    cap.Add(rows);
                }
            }
            catch (ShardException ex) when (results.Length > 1)
            {
                throw new ShardException(ex.Code, $"Statement {i}: {ex.Message}", ex.SqliteCode ?? 0, ex.SqliteExtendedCode ?? 0, ex);
            }

            results[i] = outcome.ToResult();
            work.RowsChanged += outcome.Changes;
            work.ChangedData |= outcome.Changes > 0 || work.Kind == WriteKind.Ddl;
        }

        work.Results = results;
    }

    private StatementOutcome RunDdl(string sql)
    {
        // DDL may hold several statements; each is prepared (and authorized) uncached, then run.
        var reserved = ReservedNames();

        // A partition's shard-key triggers reference the key column; they come back with the next routed write.
        ShardKeyGuard.DropTriggers(_connection);
        var previous = _connection.Mode;
        _connection.Mode = SqlMode.TenantDdl;
        try
        {
            ShardConnection.RejectNul(sql);
            var remaining = sql;
            while (!string.IsNullOrWhiteSpace(remaining))
            {
                var rc = SQLitePCL.raw.sqlite3_prepare_v3(_connection.Db, remaining, 0, out var stmt, out string tail);
                if (rc == SqliteResultCodes.Ok && tail.Length >= remaining.Length)
                {
                    // Every round must consume text: a prepare that reads nothing would loop forever.
                    stmt?.Dispose();
                    throw new ShardException(ShardErrorCode.InvalidArgument, "The DDL could not be read past: " + remaining[..Math.Min(40, remaining.Length)]);
                }

                using (stmt)
                {
                    if (rc != SqliteResultCodes.Ok)
                    {
                        throw _connection.Failure(rc);
                    }

                    if (stmt is not null && !stmt.IsInvalid)
                    {
                        int step;
                        while ((step = SQLitePCL.raw.sqlite3_step(stmt)) == SqliteResultCodes.Row)
                        {
                        }

                        if (step != SqliteResultCodes.Done)
                        {
                            throw _connection.Failure(step);
                        }
                    }
                }

                remaining = tail;
            }

            // The authorizer sees the old name of ALTER TABLE ... RENAME TO, not the new one: check the result.
            _connection.Mode = previous;
            if (ReservedNames().FirstOrDefault(name => !reserved.Contains(name)) is { } taken)
            {
                throw new ShardException(ShardErrorCode.SqlError, $"not authorized: {taken} starts with '_', which is reserved for the engine's tables.",
                    SqliteResultCodes.Auth, SqliteResultCodes.Auth);
            }

            // Nor does it see a foreign key's parent table: one naming an engine table would make SQLite refuse the
            // engine's own writes to it ("foreign key mismatch") in every later commit, the DROP that undoes it included.
            if (_connection.Query("SELECT s.name, f.\"table\" FROM sqlite_schema s, pragma_foreign_key_list(s.name) f WHERE s.type = 'table' AND substr(f.\"table\", 1, 1) = '_' LIMIT 1") is [var reference])
            {
                throw new ShardException(ShardErrorCode.SqlError, $"not authorized: {reference[0].AsText} references {reference[1].AsText}, which is reserved for the engine.",
                    SqliteResultCodes.Auth, SqliteResultCodes.Auth);
            }

            RefuseTriggersTenantWritesCannotRun();
            _connection.PlanCache.Clear();
            return new StatementOutcome(0, 0, null, null, 0);
        }
        finally
        {
            _connection.Mode = previous;
        }
    }

    /// <summary>
    /// SQLite compiles a trigger's body into every statement that fires it, and only then asks the authorizer: a trigger
    /// whose body does what a tenant's statements may not (write an engine table, say) was accepted by its CREATE and then
    /// failed every later write of its table. Each table or view with a tenant trigger has an INSERT, an UPDATE of every
    /// column and a DELETE prepared (never run) as a tenant write; a refusal by the authorizer refuses the DDL. Other prepare
    /// errors (a view without an INSTEAD OF trigger for that statement) are not this check's business.
    /// </summary>
    private void RefuseTriggersTenantWritesCannotRun()
    {
        var targets = _connection.Query("SELECT DISTINCT tbl_name FROM sqlite_schema WHERE type = 'trigger' AND substr(name, 1, 1) <> '_'");
        if (targets.Count == 0)
        {
            return;
        }

        var previous = _connection.Mode;
        _connection.Mode = SqlMode.TenantWrite;
        try
        {
            foreach (var target in targets)
            {
                var table = target[0].AsText;
                var quoted = ShardSql.Quote(table);
                var columns = _connection.Query("SELECT name FROM pragma_table_info(?)", SqlValue.FromText(table))
                    .Select(c => ShardSql.Quote(c[0].AsText))
                    .ToList();
                string[] statements =
                [
                    $"INSERT INTO {quoted} DEFAULT VALUES",
                    columns.Count > 0 ? $"UPDATE {quoted} SET {string.Join(", ", columns.Select(c => c + " = " + c))}" : "",
                    $"DELETE FROM {quoted}",
                ];
                foreach (var sql in statements.Where(s => s.Length > 0))
                {
                    var rc = SQLitePCL.raw.sqlite3_prepare_v3(_connection.Db, sql, 0, out var stmt, out string _);
                    using (stmt)
                    {
                        if (rc == SqliteResultCodes.Auth)
                        {
                            var refused = _connection.Failure(rc);
                            throw new ShardException(ShardErrorCode.SqlError,
                                $"not authorized: a trigger on {table} does what a tenant's statements may not, so every write it fires would fail ({refused.Message})",
                                SqliteResultCodes.Auth, SqliteResultCodes.Auth);
                        }
                    }
                }
            }
        }
        finally
        {
            _connection.Mode = previous;
        }
    }

    /// <summary>
    /// A deferred foreign key left unresolved by this work would only fail at COMMIT, failing every work of
    /// the group; it is checked here, while the work's savepoint can still be rolled back alone.
    /// </summary>
    private void ThrowIfDeferredForeignKeysUnresolved()
    {
        SQLitePCL.raw.sqlite3_db_status(_connection.Db, DbStatusDeferredForeignKeys, out var unresolved, out _, 0);
        if (unresolved > 0)
        {
            throw new ShardException(ShardErrorCode.ConstraintViolation, "FOREIGN KEY constraint failed (a deferred foreign key is unresolved at the end of the work)",
                SqliteResultCodes.Constraint, SqliteResultCodes.ConstraintForeignKey);
        }
    }

    /// <summary>Schema objects whose name starts with '_': the engine's own, reserved.</summary>
    private HashSet<string> ReservedNames()
    {
        var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var row in _connection.Query("SELECT name FROM sqlite_schema WHERE substr(name, 1, 1) = '_'"))
        {
            names.Add(row[0].AsText);
        }

        return names;
    }

    private StoredOutcome? LoadIdempotent(string key)
    {
        var rows = _connection.Query("SELECT outcome, at_ms FROM _idempotency WHERE key = ?", key);
        if (rows is not [var row, ..])
        {
            return null;
        }

        var age = _time.GetUtcNow().ToUnixTimeMilliseconds() - row[1].AsInteger;
        return age > _options.IdempotencyWindow.TotalMilliseconds
            ? null
            : JsonSerializer.Deserialize(row[0].AsText, GrainsJsonContext.Default.StoredOutcome);
    }

    /// <summary>Pages in use: the file's pages less the free list (freed pages are reused before the file grows).</summary>
    private long UsedPages() => UsedPages(_connection);

    /// <summary>Pages in use on <paramref name="connection"/>'s file (see <see cref="UsedPages()"/>).</summary>
    internal static long UsedPages(ShardConnection connection) =>
        connection.ExecuteScalar("PRAGMA page_count") - connection.ExecuteScalar("PRAGMA freelist_count");

    /// <summary>Pages a <see cref="WriteWork.NoGrowth"/> work may add (page splits of a delete) before it counts as growth.</summary>
    private const long NoGrowthSlackPages = 8;

    /// <summary>A work marked <see cref="WriteWork.NoGrowth"/> (its tenant is over its storage quota) grew the shard.</summary>
    private static ShardException OverQuota() => new(
        ShardErrorCode.CapacityExceeded,
        "The tenant is at or over its storage quota (Shards:Limits:MaxTenantStorageBytes): this write would grow its storage (a trigger, or rows written elsewhere); it was rolled back.");

    private ShardException SizeLimitReached(ShardException? inner) => new(
        ShardErrorCode.CapacityExceeded,
        $"The shard reached its size limit ({_options.MaxShardSizeBytes} bytes); writes that need more space are refused (DELETE and DROP still work), reads still work.",
        inner?.SqliteCode ?? 0,
        inner?.SqliteExtendedCode ?? 0,
        inner);

    private static StoredOutcome Mismatch(string key) => new(
        null,
        -1,
        ShardErrorCode.IdempotencyMismatch.ToWire(),
        $"Idempotency key '{key}' was used with a different request; the first request's outcome stands. Use a new key for a new request.");

    private static StoredOutcome ToStored(ShardException error, long sequence) =>
        new(null, sequence, error.Code.ToWire(), error.Message);

    /// <summary>Errors that would recur if the same request ran again; transient ones are not remembered.</summary>
    private static bool IsDeterministic(ShardException error) => error.Code is
        ShardErrorCode.ConflictUnique or ShardErrorCode.ConstraintViolation or ShardErrorCode.SqlError or ShardErrorCode.InvalidArgument;

    private bool TransactionRolledBack() => SQLitePCL.raw.sqlite3_get_autocommit(_connection.Db) != 0;

    private const int DbStatusDeferredForeignKeys = 10;

    [LoggerMessage(Level = LogLevel.Error, Message = "The shard writer failed a group")]
    private partial void LogWriterFault(Exception exception);
}
