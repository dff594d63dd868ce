using System.Diagnostics;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace OrleansShards.Grains.Storage;

/// <summary>
/// One SQLite connection of a shard, used by one caller at a time. Statements go through SQLite's
/// C API on the connection handle (positional <c>?</c> parameters, exact 64-bit integers, blobs,
/// extended result codes) with a plan cache of prepared statements; a progress handler interrupts a
/// statement past its deadline. Busy results are not retried here: <see cref="BusyRetry"/> does that,
/// in one place, without sleeping the thread.
/// </summary>
internal sealed class ShardConnection : IDisposable
{
    private const uint PreparePersistent = 0x01;
    private const int SqliteTooBig = 18;
    private const int StmtStatusFullscanStep = 1;
    private const int ProgressOps = 4096;

    private readonly SqliteConnection _connection;
    private readonly delegate_progress _progress;
    private readonly List<IDisposable> _owned = [];
    private long _deadline;
    private CancellationToken _cancellation;

    public ShardConnection(string path, bool readOnly, int planCacheSize)
    {
        Path = path;
        IsReadOnly = readOnly;
        _connection = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = readOnly ? SqliteOpenMode.ReadOnly : SqliteOpenMode.ReadWriteCreate,
            Pooling = false,
        }.ToString());
        try
        {
            _connection.Open();
        }
        catch (SqliteException ex)
        {
            // CANTOPEN (out of file descriptors) is OVERLOADED, retryable; never a bare SqliteException to the caller.
            _connection.Dispose();
            throw Native.SqliteErrors.ToShardException(ex);
        }

        Db = _connection.Handle!;
        raw.sqlite3_extended_result_codes(Db, 1);
        PlanCache = new PlanCache(planCacheSize);
        InternalCache = new PlanCache(64);
        _progress = static state => ((ShardConnection)state).OnProgress();
        raw.sqlite3_progress_handler(Db, ProgressOps, _progress, this);
    }

    public string Path { get; }

    public bool IsReadOnly { get; }

    public SqliteConnection Connection => _connection;

    public sqlite3 Db { get; }

    /// <summary>Prepared tenant statements (the plan cache whose hit rate is reported).</summary>
    public PlanCache PlanCache { get; }

    /// <summary>
    /// Prepared engine statements, kept apart from tenant ones: a tenant sending the exact text of an
    /// internal statement must never reuse a statement prepared without the authorizer.
    /// </summary>
    public PlanCache InternalCache { get; }

    /// <summary>The shard-key guard of a partition's writer (null until its first routed write; see <see cref="ShardKeyGuard"/>).</summary>
    public ShardKeyGuard? KeyGuard { get; set; }

    /// <summary>The installed authorizer (null before hardening); engine code that issues its own SAVEPOINTs suspends it.</summary>
    public Native.SqliteAuthorizer? Authorizer { get; set; }

    /// <summary>
    /// Who runs SQL now; the authorizer allows or denies by it. Engine code runs as <see cref="SqlMode.Internal"/>.
    /// The tenant value cap (<see cref="TenantMaxValueLength"/>, 2 MB) applies only to tenant modes: the engine's
    /// own rows (a group's changeset, a remembered outcome) may be larger, and SQLite checks the cap on reads too.
    /// </summary>
    public SqlMode Mode
    {
        get => _mode;
        set
        {
            if ((value == SqlMode.Internal) != (_mode == SqlMode.Internal) || !_limitApplied)
            {
                raw.sqlite3_limit(Db, SqliteLimitLength, value == SqlMode.Internal ? EngineMaxValueLength : TenantMaxValueLength);
                _limitApplied = true;
            }

            _mode = value;
        }
    }

    /// <summary>Largest value a tenant statement may create (Durable Objects' 2 MB row limit).</summary>
    public const int TenantMaxValueLength = 2 * 1024 * 1024;

    /// <summary>Largest value engine statements may create or read (SQLite's compiled maximum is 1e9).</summary>
    public const int EngineMaxValueLength = 1_000_000_000;

    private const int SqliteLimitLength = 0;
    private SqlMode _mode = SqlMode.Internal;
    private bool _limitApplied;

    /// <summary>Prepares (through the plan cache) and runs a tenant statement under <paramref name="mode"/>.</summary>
    /// <remarks>
    /// <c>last_insert_rowid()</c> is the tenant's own: the engine's inserts (change log, outbox) happen on the same
    /// connection, so the tenant's value is put back before each tenant statement and taken after it. An UPDATE
    /// or DELETE therefore reports the rowid of the tenant's previous INSERT, as SQLite would on a connection of its own.
    /// </remarks>
    public StatementOutcome RunTenant(string sql, IReadOnlyList<SqlValue>? parameters, SqlMode mode)
    {
        var previous = Mode;
        Mode = mode;
        try
        {
            Native.SqliteNative.sqlite3_set_last_insert_rowid(Db.DangerousGetHandle(), _tenantLastInsertRowId);
            var outcome = Run(Prepare(sql), parameters);
            _tenantLastInsertRowId = outcome.LastInsertRowId;
            return outcome;
        }
        finally
        {
            Mode = previous;
        }
    }

    /// <summary>The tenant's <c>last_insert_rowid()</c> on this connection (see <see cref="RunTenant"/>).</summary>
    private long _tenantLastInsertRowId;

    /// <summary>True when the last interruption came from the deadline.</summary>
    public bool TimedOut { get; private set; }

    /// <summary>Bounds the statements run until <see cref="ClearDeadline"/> by <paramref name="timeout"/> and <paramref name="cancellationToken"/>.</summary>
    public void SetDeadline(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        TimedOut = false;
        _cancellation = cancellationToken;
        _deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
    }

    public void ClearDeadline()
    {
        _deadline = 0;
        _cancellation = default;
    }

    /// <summary>Returns the cached prepared statement for <paramref name="sql"/>, preparing it on a miss.</summary>
    /// <exception cref="ShardException"><c>INVALID_ARGUMENT</c> for empty or multiple statements; <c>SQL_ERROR</c> when it does not prepare.</exception>
    public PreparedStatement Prepare(string sql)
    {
        if (PlanCache.TryGet(sql, out var cached))
        {
            return cached;
        }

        var statement = PrepareUncached(sql);
        PlanCache.Add(statement);
        return statement;
    }

    /// <summary>Prepares without caching (one-off statements such as DDL).</summary>
    public PreparedStatement PrepareUncached(string sql)
    {
        RejectNul(sql);
        var rc = raw.sqlite3_prepare_v3(Db, sql, PreparePersistent, out var stmt, out string tail);
        if (rc != SqliteResultCodes.Ok)
        {
            stmt?.Dispose();
            var failure = Failure(rc);
            // TOOBIG while preparing is the statement's own length (SQLITE_LIMIT_SQL_LENGTH): a bad argument, not a big body.
            throw failure.Code == ShardErrorCode.PayloadTooLarge && failure.SqliteCode == SqliteTooBig
                ? new ShardException(ShardErrorCode.InvalidArgument, "The statement is longer than the shard allows. (" + failure.Message + ")", failure.SqliteCode.Value, failure.SqliteExtendedCode ?? rc, failure)
                : failure;
        }

        if (stmt is null || stmt.IsInvalid)
        {
            stmt?.Dispose();
            throw new ShardException(ShardErrorCode.InvalidArgument, "The query holds no SQL statement.");
        }

        if (!string.IsNullOrWhiteSpace(tail) && HasStatement(tail))
        {
            stmt.Dispose();
            throw new ShardException(ShardErrorCode.InvalidArgument, "The query must hold exactly one statement; use batch for several.");
        }

        return new PreparedStatement(stmt, sql);
    }

    /// <summary>Binds <paramref name="parameters"/>, runs the statement to completion and resets it.</summary>
    public StatementOutcome Run(PreparedStatement statement, IReadOnlyList<SqlValue>? parameters)
    {
        var handle = statement.Handle;
        var count = parameters?.Count ?? 0;
        if (count != statement.ParameterCount)
        {
            throw new ShardException(ShardErrorCode.InvalidArgument,
                $"The statement has {statement.ParameterCount} parameter(s) but {count} value(s) were sent.");
        }

        try
        {
            for (var i = 0; i < count; i++)
            {
                var rc = Bind(handle, i + 1, parameters![i]);
                if (rc != SqliteResultCodes.Ok)
                {
                    throw Failure(rc);
                }
            }

            // The shape is read after the first step: a schema change since the statement was prepared makes SQLite
            // prepare it again inside sqlite3_step, and the columns may differ from the ones seen before.
            var columnCount = -1;
            List<SqlValue[]>? rows = null;
            long resultBytes = 0;
            while (true)
            {
                var rc = raw.sqlite3_step(handle);
                if (columnCount < 0)
                {
                    columnCount = raw.sqlite3_column_count(handle);
                    rows = columnCount > 0 ? [] : null;
                }

                if (rc == SqliteResultCodes.Row)
                {
                    if (rows is not null)
                    {
                        // Capped while produced: stepping stops and the rows read so far are dropped.
                        resultBytes += RowBytes(handle, columnCount);
                        if ((rows.Count >= MaxResultRows || resultBytes > MaxResultBytes) && _mode is SqlMode.TenantRead or SqlMode.TenantWrite)
                        {
                            throw ResultCap.TooLarge(MaxResultRows, MaxResultBytes);
                        }

                        rows.Add(ReadRow(handle, columnCount));
                        if (resultBytes >= StopAfterBytes)
                        {
                            // A bounded engine read (a chunk of rows moved by sharding): the caller reads on from the last row.
                            break;
                        }
                    }

                    continue;
                }

                if (rc != SqliteResultCodes.Done)
                {
                    throw Failure(rc);
                }

                break;
            }

            var changes = statement.IsReadOnly ? 0 : raw.sqlite3_changes(Db);
            var scanned = raw.sqlite3_stmt_status(handle, StmtStatusFullscanStep, 1);
            return new StatementOutcome(
                changes,
                raw.sqlite3_last_insert_rowid(Db),
                columnCount > 0 ? statement.Columns : null,
                rows,
                (rows?.Count ?? 0) + scanned);
        }
        finally
        {
            raw.sqlite3_reset(handle);
            raw.sqlite3_clear_bindings(handle);
        }
    }

    /// <summary>
    /// Brings this connection's copy of the schema up to date with the file. SQLite checks it when a statement runs, not
    /// when one is prepared, so a connection that has run nothing since another one changed the schema prepares against
    /// the old one (an ON CONFLICT target missing a new UNIQUE index, a column count without an added column). Running a
    /// statement that reads the schema table makes SQLite notice the change and reload it.
    /// </summary>
    public void RefreshSchema() => ExecuteScalar("SELECT count(*) FROM sqlite_master");

    /// <summary>Runs engine-internal SQL (one or more statements) with no parameters.</summary>
    public void Execute(string sql)
    {
        var rc = raw.sqlite3_exec(Db, sql, out string? error);
        if (rc != SqliteResultCodes.Ok)
        {
            throw SqliteResultCodes.ToException(raw.sqlite3_extended_errcode(Db), error ?? raw.sqlite3_errstr(rc).utf8_to_string(), TimedOut);
        }
    }

    /// <summary>
    /// Runs one engine statement without parameters through the internal plan cache: unlike <see cref="Execute"/>
    /// it is not parsed again on every call (the writer's BEGIN, SAVEPOINT, RELEASE and COMMIT of every group).
    /// </summary>
    public void ExecuteCached(string sql) => StepFirstInteger(PrepareInternal(sql).Handle);

    /// <summary>Runs engine-internal SQL returning one integer (0 when no row).</summary>
    public long ExecuteScalar(string sql, params SqlValue[] parameters)
    {
        var statement = PrepareInternal(sql);
        if (parameters.Length > 0 || statement.ParameterCount > 0)
        {
            var outcome = Run(statement, parameters);
            return outcome.Rows is [var row, ..] && row[0].Kind == SqlValueKind.Integer ? row[0].AsInteger : 0;
        }

        // No parameters (e.g. the PRAGMAs measuring a shard after every commit): step and read the first
        // integer in place, without the rows, values and outcome that Run builds.
        return StepFirstInteger(statement.Handle);
    }

    /// <summary>Steps a parameterless statement to its end and resets it; returns its first integer (0 when none).</summary>
    private long StepFirstInteger(sqlite3_stmt handle)
    {
        try
        {
            long value = 0;
            var first = true;
            int rc;
            while ((rc = raw.sqlite3_step(handle)) == SqliteResultCodes.Row)
            {
                if (first && raw.sqlite3_column_type(handle, 0) == raw.SQLITE_INTEGER)
                {
                    value = raw.sqlite3_column_int64(handle, 0);
                }

                first = false;
            }

            return rc == SqliteResultCodes.Done ? value : throw Failure(rc);
        }
        finally
        {
            raw.sqlite3_reset(handle);
        }
    }

    /// <summary>Runs engine-internal SQL returning rows.</summary>
    public List<SqlValue[]> Query(string sql, params SqlValue[] parameters) => Run(PrepareInternal(sql), parameters).Rows ?? [];

    /// <summary>Runs engine-internal SQL that returns nothing; returns rows changed.</summary>
    public long ExecuteInternal(string sql, params SqlValue[] parameters) => Run(PrepareInternal(sql), parameters).Changes;

    private PreparedStatement PrepareInternal(string sql)
    {
        if (InternalCache.TryGet(sql, out var cached))
        {
            return cached;
        }

        var statement = PrepareUncached(sql);
        InternalCache.Add(statement);
        return statement;
    }

    public ShardException Failure(int rc, string? context = null)
    {
        var extended = raw.sqlite3_extended_errcode(Db);
        if ((extended & 0xFF) != (rc & 0xFF))
        {
            extended = rc;
        }

        return SqliteResultCodes.ToException(extended, raw.sqlite3_errmsg(Db).utf8_to_string(), TimedOut, context, Authorizer?.TakeLastDenied());
    }

    /// <summary>
    /// Closing this connection, even as the file's last one, does not first checkpoint the WAL into the database
    /// (<c>SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE</c>): for a file about to be deleted, or opened next by another connection
    /// that reads the WAL and checkpoints in its own time. The WAL stays complete and durable.
    /// </summary>
    public void SkipCheckpointOnClose() => _ = raw.sqlite3_db_config(Db, SqliteDbConfigNoCheckpointOnClose, 1, out _);

    /// <summary><c>SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE</c>.</summary>
    private const int SqliteDbConfigNoCheckpointOnClose = 1006;

    /// <summary>Disposes <paramref name="resource"/> (e.g. the authorizer) before the connection closes.</summary>
    public void OnDispose(IDisposable resource) => _owned.Add(resource);

    public void Dispose()
    {
        foreach (var resource in _owned)
        {
            resource.Dispose();
        }

        PlanCache.Dispose();
        InternalCache.Dispose();
        raw.sqlite3_progress_handler(Db, 0, null, null);
        _connection.Dispose();
    }

    private static int Bind(sqlite3_stmt handle, int index, SqlValue value) => value.Kind switch
    {
        SqlValueKind.Integer => raw.sqlite3_bind_int64(handle, index, value.AsInteger),
        SqlValueKind.Real => raw.sqlite3_bind_double(handle, index, value.AsReal),
        SqlValueKind.Text => raw.sqlite3_bind_text(handle, index, value.AsText),
        SqlValueKind.Blob => raw.sqlite3_bind_blob(handle, index, value.AsBlob),
        _ => raw.sqlite3_bind_null(handle, index),
    };

    /// <summary>Most rows one tenant statement may return (the engine's own reads are not capped). Default unlimited; the shard sets its option.</summary>
    public int MaxResultRows { get; set; } = int.MaxValue;

    /// <summary>
    /// Stepping stops once the rows read hold this many bytes (at least one row is read): an engine read of tenant rows in
    /// chunks reads on from its last row. Unbounded unless set.
    /// </summary>
    public long StopAfterBytes { get; set; } = long.MaxValue;

    /// <summary>Most bytes (values' sizes) one tenant statement may return. Default unlimited; the shard sets its option.</summary>
    public long MaxResultBytes { get; set; } = long.MaxValue;

    /// <summary>The size of the current row's values: 8 per number, the stored bytes of text and blobs.</summary>
    private static long RowBytes(sqlite3_stmt handle, int columnCount)
    {
        long bytes = 0;
        for (var i = 0; i < columnCount; i++)
        {
            bytes += raw.sqlite3_column_type(handle, i) is raw.SQLITE_TEXT or raw.SQLITE_BLOB ? raw.sqlite3_column_bytes(handle, i) : 8;
        }

        return bytes;
    }

    private static SqlValue[] ReadRow(sqlite3_stmt handle, int columnCount)
    {
        var row = new SqlValue[columnCount];
        for (var i = 0; i < columnCount; i++)
        {
            row[i] = raw.sqlite3_column_type(handle, i) switch
            {
                raw.SQLITE_INTEGER => SqlValue.FromInteger(raw.sqlite3_column_int64(handle, i)),
                raw.SQLITE_FLOAT => SqlValue.FromReal(raw.sqlite3_column_double(handle, i)),
                raw.SQLITE_TEXT => SqlValue.FromText(raw.sqlite3_column_text(handle, i).utf8_to_string()),
                raw.SQLITE_BLOB => SqlValue.FromBlob(raw.sqlite3_column_blob(handle, i).ToArray()),
                _ => SqlValue.Null,
            };
        }

        return row;
    }

    /// <summary>
    /// Refuses SQL holding a NUL character: SQLite stops reading at it, so the statement it would run is not the one
    /// that was sent (<c>DELETE … WHERE id = 1\0 OR 1=1</c>), and a multi-statement loop would never move past it.
    /// </summary>
    /// <exception cref="ShardException"><c>INVALID_ARGUMENT</c>.</exception>
    public static void RejectNul(string sql)
    {
        if (sql.Contains('\0', StringComparison.Ordinal))
        {
            throw new ShardException(ShardErrorCode.InvalidArgument, "SQL must not contain a NUL character (U+0000).");
        }
    }

    private bool HasStatement(string tail)
    {
        var rc = raw.sqlite3_prepare_v3(Db, tail, 0, out var next, out string _);
        using (next)
        {
            // A tail that fails to prepare is still a second statement (as far as the caller is concerned).
            return rc != SqliteResultCodes.Ok || (next is not null && !next.IsInvalid);
        }
    }

    private int OnProgress()
    {
        var deadline = _deadline;
        if (deadline != 0 && Stopwatch.GetTimestamp() > deadline)
        {
            TimedOut = true;
            return 1;
        }

        return _cancellation.IsCancellationRequested ? 1 : 0;
    }
}
