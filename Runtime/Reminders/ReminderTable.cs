using Microsoft.Data.Sqlite;

namespace OrleansShards.Runtime.Reminders;

/// <summary>The durable store of reminders: one table in the silo's own SQLite file.</summary>
internal sealed class ReminderTable : IAsyncDisposable, IDisposable
{
    private readonly SemaphoreSlim _lock = new(1, 1);
    private readonly SqliteConnection _connection;
    private bool _disposed;

    private ReminderTable(SqliteConnection connection) => _connection = connection;

    public static async Task<ReminderTable> OpenAsync(string path, CancellationToken cancellationToken)
    {
        var directory = Path.GetDirectoryName(Path.GetFullPath(path));
        if (!string.IsNullOrEmpty(directory))
        {
            Directory.CreateDirectory(directory);
        }

        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        using var command = connection.CreateCommand();
        command.CommandText = """
            PRAGMA journal_mode = WAL;
            PRAGMA synchronous = FULL;
            CREATE TABLE IF NOT EXISTS reminders(
                grain_type TEXT NOT NULL,
                grain_key TEXT NOT NULL,
                name TEXT NOT NULL,
                first_due_ms INTEGER NOT NULL,
                period_ms INTEGER NOT NULL,
                next_due_ms INTEGER NOT NULL,
                PRIMARY KEY (grain_type, grain_key, name)) WITHOUT ROWID;
            """;
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        return new ReminderTable(connection);
    }

    public async Task<List<ReminderEntry>> ReadAllAsync()
    {
        await _lock.WaitAsync().ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            using var command = _connection.CreateCommand();
            command.CommandText = "SELECT grain_type, grain_key, name, first_due_ms, period_ms, next_due_ms FROM reminders";
            using var reader = command.ExecuteReader();
            var list = new List<ReminderEntry>();
            while (reader.Read())
            {
                list.Add(new ReminderEntry(
                    new GrainId(reader.GetString(0), reader.GetString(1)),
                    reader.GetString(2),
                    DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(3)),
                    TimeSpan.FromMilliseconds(reader.GetInt64(4)),
                    DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(5))));
            }

            return list;
        }
        finally
        {
            _lock.Release();
        }
    }

    public async Task UpsertAsync(ReminderEntry entry)
    {
        await _lock.WaitAsync().ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            using var command = _connection.CreateCommand();
            command.CommandText = """
                INSERT INTO reminders(grain_type, grain_key, name, first_due_ms, period_ms, next_due_ms)
                VALUES ($t, $k, $n, $f, $p, $d)
                ON CONFLICT(grain_type, grain_key, name) DO UPDATE SET
                    first_due_ms = excluded.first_due_ms, period_ms = excluded.period_ms, next_due_ms = excluded.next_due_ms
                """;
            command.Parameters.AddWithValue("$t", entry.Grain.Type);
            command.Parameters.AddWithValue("$k", entry.Grain.Key);
            command.Parameters.AddWithValue("$n", entry.ReminderName);
            command.Parameters.AddWithValue("$f", entry.FirstDue.ToUnixTimeMilliseconds());
            command.Parameters.AddWithValue("$p", (long)entry.Period.TotalMilliseconds);
            command.Parameters.AddWithValue("$d", entry.NextDue.ToUnixTimeMilliseconds());
            command.ExecuteNonQuery();
        }
        finally
        {
            _lock.Release();
        }
    }

    public async Task DeleteAsync(GrainId grain, string name)
    {
        await _lock.WaitAsync().ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            using var command = _connection.CreateCommand();
            command.CommandText = "DELETE FROM reminders WHERE grain_type = $t AND grain_key = $k AND name = $n";
            command.Parameters.AddWithValue("$t", grain.Type);
            command.Parameters.AddWithValue("$k", grain.Key);
            command.Parameters.AddWithValue("$n", name);
            command.ExecuteNonQuery();
        }
        finally
        {
            _lock.Release();
        }
    }

    // The lock is released after closing: callers that arrive later get ObjectDisposedException
    // instead of waiting forever on a semaphore nobody releases.
    public async ValueTask DisposeAsync()
    {
        await _lock.WaitAsync().ConfigureAwait(false);
        try
        {
            if (!_disposed)
            {
                _disposed = true;
                await _connection.DisposeAsync().ConfigureAwait(false);
            }
        }
        finally
        {
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
                _connection.Dispose();
            }
        }
        finally
        {
            _lock.Release();
        }
    }
}
