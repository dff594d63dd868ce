using System.Globalization;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans;
using Orleans.Runtime;

namespace OrleansShards.Grains.Hosting.Reminders;

/// <summary>
/// Orleans reminder table in one SQLite file (WAL, <c>synchronous = FULL</c>): a row survives a crash
/// once <see cref="UpsertRow"/> returned. All commands run on one connection behind a semaphore.
/// </summary>
internal sealed partial class SqliteReminderTable : IReminderTable, IAsyncDisposable, IDisposable
{
    private const string Columns = "grain_id, reminder_name, start_at_ticks, period_ticks, etag";

    private readonly SemaphoreSlim _lock = new(1, 1);
    private readonly string _path;
    private readonly ILogger<SqliteReminderTable> _logger;
    private SqliteConnection? _connection;
    private bool _disposed;

    public SqliteReminderTable(IOptions<SqliteReminderTableOptions> options, ILogger<SqliteReminderTable> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _path = options.Value.DatabasePath;
        _logger = logger;
    }

    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        await _lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await EnsureOpenAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _lock.Release();
        }
    }

    public Task StopAsync(CancellationToken cancellationToken = default) => DisposeAsync().AsTask();

    public Task<ReminderTableData> ReadRows(GrainId grainId) => ReadAsync(
        "WHERE grain_hash = $hash AND grain_id = $grain",
        command =>
        {
            command.Parameters.AddWithValue("$hash", (long)grainId.GetUniformHashCode());
            command.Parameters.AddWithValue("$grain", grainId.ToString());
        });

    // (begin, end] on the ring; begin >= end wraps around (begin == end is the whole ring), as IReminderTable documents.
    public Task<ReminderTableData> ReadRows(uint begin, uint end) => ReadAsync(
        begin < end ? "WHERE grain_hash > $begin AND grain_hash <= $end" : "WHERE grain_hash > $begin OR grain_hash <= $end",
        command =>
        {
            command.Parameters.AddWithValue("$begin", (long)begin);
            command.Parameters.AddWithValue("$end", (long)end);
        });

    public async Task<ReminderEntry?> ReadRow(GrainId grainId, string reminderName)
    {
        ArgumentNullException.ThrowIfNull(reminderName);
        var rows = await ReadAsync(
            "WHERE grain_hash = $hash AND grain_id = $grain AND reminder_name = $name",
            command =>
            {
                command.Parameters.AddWithValue("$hash", (long)grainId.GetUniformHashCode());
                command.Parameters.AddWithValue("$grain", grainId.ToString());
                command.Parameters.AddWithValue("$name", reminderName);
            }).ConfigureAwait(false);
        return rows.Reminders.Count == 0 ? null : rows.Reminders[0];
    }

    public async Task<string?> UpsertRow(ReminderEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        ArgumentNullException.ThrowIfNull(entry.ReminderName);
        var etag = Guid.NewGuid().ToString("N");
        await ExecuteAsync(
            """
            INSERT INTO reminders(grain_id, reminder_name, grain_hash, start_at_ticks, period_ticks, etag)
            VALUES ($grain, $name, $hash, $start, $period, $etag)
            ON CONFLICT(grain_id, reminder_name) DO UPDATE SET
                grain_hash = excluded.grain_hash, start_at_ticks = excluded.start_at_ticks,
                period_ticks = excluded.period_ticks, etag = excluded.etag
            """,
            command =>
            {
                command.Parameters.AddWithValue("$grain", entry.GrainId.ToString());
                command.Parameters.AddWithValue("$name", entry.ReminderName);
                command.Parameters.AddWithValue("$hash", (long)entry.GrainId.GetUniformHashCode());
                command.Parameters.AddWithValue("$start", ToUtc(entry.StartAt).Ticks);
                command.Parameters.AddWithValue("$period", entry.Period.Ticks);
                command.Parameters.AddWithValue("$etag", etag);
            }).ConfigureAwait(false);
        return etag;
    }

    public async Task<bool> RemoveRow(GrainId grainId, string reminderName, string eTag)
    {
        ArgumentNullException.ThrowIfNull(reminderName);
        var removed = await ExecuteAsync(
            "DELETE FROM reminders WHERE grain_id = $grain AND reminder_name = $name AND etag = $etag",
            command =>
            {
                command.Parameters.AddWithValue("$grain", grainId.ToString());
                command.Parameters.AddWithValue("$name", reminderName);
                command.Parameters.AddWithValue("$etag", (object?)eTag ?? DBNull.Value);
            }).ConfigureAwait(false);
        if (removed == 0)
        {
            LogRemoveMismatch(grainId, reminderName, eTag);
        }

        return removed > 0;
    }

    public Task TestOnlyClearTable() => ExecuteAsync("DELETE FROM reminders", static _ => { });

    public async ValueTask DisposeAsync()
    {
        await _lock.WaitAsync().ConfigureAwait(false);
        try
        {
            if (!_disposed)
            {
                _disposed = true;
                if (_connection is not null)
                {
                    await _connection.DisposeAsync().ConfigureAwait(false);
                    _connection = null;
                }
            }
        }
        finally
        {
            // Released after closing: later callers get ObjectDisposedException instead of waiting forever.
            _lock.Release();
        }
    }

    public void Dispose()
    {
        _lock.Wait();
        try
        {
            if (!_disposed)
            {
                _disposed = true;
                _connection?.Dispose();
                _connection = null;
            }
        }
        finally
        {
            _lock.Release();
        }
    }

    private static DateTime ToUtc(DateTime value) => value.Kind switch
    {
        DateTimeKind.Utc => value,
        DateTimeKind.Local => value.ToUniversalTime(),
        _ => DateTime.SpecifyKind(value, DateTimeKind.Utc),
    };

    private async Task<ReminderTableData> ReadAsync(string where, Action<SqliteCommand> bind)
    {
        await _lock.WaitAsync().ConfigureAwait(false);
        try
        {
            var connection = await EnsureOpenAsync(CancellationToken.None).ConfigureAwait(false);
            await using var command = connection.CreateCommand();
            command.CommandText = $"SELECT {Columns} FROM reminders {where}";
            bind(command);
            await using var reader = await command.ExecuteReaderAsync().ConfigureAwait(false);
            var rows = new List<ReminderEntry>();
            while (await reader.ReadAsync().ConfigureAwait(false))
            {
                rows.Add(new ReminderEntry
                {
                    GrainId = GrainId.Parse(reader.GetString(0), CultureInfo.InvariantCulture),
                    ReminderName = reader.GetString(1),
                    StartAt = new DateTime(reader.GetInt64(2), DateTimeKind.Utc),
                    Period = TimeSpan.FromTicks(reader.GetInt64(3)),
                    ETag = reader.GetString(4),
                });
            }

            return new ReminderTableData(rows);
        }
        finally
        {
            _lock.Release();
        }
    }

    private async Task<int> ExecuteAsync(string sql, Action<SqliteCommand> bind)
    {
        await _lock.WaitAsync().ConfigureAwait(false);
        try
        {
            var connection = await EnsureOpenAsync(CancellationToken.None).ConfigureAwait(false);
            await using var command = connection.CreateCommand();
            command.CommandText = sql;
            bind(command);
            return await command.ExecuteNonQueryAsync().ConfigureAwait(false);
        }
        finally
        {
            _lock.Release();
        }
    }

    // Caller holds _lock.
    private async Task<SqliteConnection> EnsureOpenAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_connection is not null)
        {
            return _connection;
        }

        if (string.IsNullOrWhiteSpace(_path))
        {
            throw new InvalidOperationException(
                $"{nameof(SqliteReminderTableOptions)}.{nameof(SqliteReminderTableOptions.DatabasePath)} is not set.");
        }

        var directory = Path.GetDirectoryName(Path.GetFullPath(_path));
        if (!string.IsNullOrEmpty(directory))
        {
            Directory.CreateDirectory(directory);
        }

        var connection = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = _path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = false,
        }.ToString());
        try
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            await using var command = connection.CreateCommand();
            command.CommandText = """
                PRAGMA journal_mode = WAL;
                PRAGMA synchronous = FULL;
                PRAGMA busy_timeout = 5000;
                CREATE TABLE IF NOT EXISTS reminders(
                    grain_id TEXT NOT NULL,
                    reminder_name TEXT NOT NULL,
                    grain_hash INTEGER NOT NULL,
                    start_at_ticks INTEGER NOT NULL,
                    period_ticks INTEGER NOT NULL,
                    etag TEXT NOT NULL,
                    PRIMARY KEY (grain_id, reminder_name)) WITHOUT ROWID;
                CREATE INDEX IF NOT EXISTS reminders_by_hash ON reminders(grain_hash);
                """;
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        LogOpened(_path);
        _connection = connection;
        return connection;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "SQLite reminder table opened at {Path}")]
    private partial void LogOpened(string path);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Reminder {ReminderName} of {GrainId} not removed: no row with ETag {ETag}")]
    private partial void LogRemoveMismatch(GrainId grainId, string reminderName, string eTag);
}
