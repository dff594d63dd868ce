using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace OrleansShards.Grains.Storage.Native;

/// <summary>
/// Locks a connection down for untrusted SQL: SQLITE_DBCONFIG_DEFENSIVE on (no writable_schema,
/// no journal_mode=OFF, no direct schema or shadow-table writes), extension loading off (C API
/// and SQL function), untrusted schema (SQLITE_DBCONFIG_TRUSTED_SCHEMA off: functions and virtual
/// tables in views/triggers must be innocuous), and the <see cref="SqliteHardeningOptions"/> size
/// limits. Each setting is read back and verified; a mismatch throws. These settings stay on the
/// native handle for its life (also across a connection pool).
/// </summary>
internal static class SqliteHardening
{
    private const int SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION = 1005;
    private const int SQLITE_DBCONFIG_DEFENSIVE = 1010;
    private const int SQLITE_DBCONFIG_TRUSTED_SCHEMA = 1017;

    /// <summary>Applies the hardening to an open connection.</summary>
    /// <exception cref="InvalidOperationException">The connection is not open, or SQLite did not take a setting.</exception>
    /// <exception cref="SqliteException">SQLite rejected a configuration call.</exception>
    public static void Apply(SqliteConnection connection, SqliteHardeningOptions? options = null)
    {
        options ??= SqliteHardeningOptions.Default;
        var db = SqliteNative.GetHandle(connection);
        Configure(db, SQLITE_DBCONFIG_DEFENSIVE, 1, "SQLITE_DBCONFIG_DEFENSIVE");
        Configure(db, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 0, "SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION");
        Configure(db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, "SQLITE_DBCONFIG_TRUSTED_SCHEMA");
        SetLimit(connection, SqliteLimit.SqlLength, options.MaxSqlLength);
        SetLimit(connection, SqliteLimit.VariableNumber, options.MaxParameters);
        SetLimit(connection, SqliteLimit.Length, options.MaxValueLength);
        SetLimit(connection, SqliteLimit.Attached, options.MaxAttached);
    }

    /// <summary>
    /// Sets one limit and returns the previous value (to restore it after an internal operation).
    /// SQLite silently caps a value above its compile-time maximum; the cap is checked here.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="value"/> is negative.</exception>
    /// <exception cref="InvalidOperationException">SQLite kept another value (above its compile-time maximum).</exception>
    public static int SetLimit(SqliteConnection connection, SqliteLimit limit, int value)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(value);
        var db = SqliteNative.GetHandle(connection);
        var previous = raw.sqlite3_limit(db, (int)limit, value);
        var now = raw.sqlite3_limit(db, (int)limit, -1);
        if (now != value)
        {
            throw new InvalidOperationException($"SQLite set {limit} to {now}, not {value} (its compile-time maximum is lower).");
        }

        return previous;
    }

    /// <summary>The current value of one limit.</summary>
    public static int GetLimit(SqliteConnection connection, SqliteLimit limit) =>
        raw.sqlite3_limit(SqliteNative.GetHandle(connection), (int)limit, -1);

    private static void Configure(sqlite3 db, int op, int value, string name)
    {
        SqliteNative.Check(raw.sqlite3_db_config(db, op, value, out var result), name, db);
        if (result != value)
        {
            throw new InvalidOperationException($"SQLite kept {name} at {result}, not {value}.");
        }
    }
}
