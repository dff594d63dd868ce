using System.Text;
using Microsoft.Data.Sqlite;
using OrleansShards.Grains.Storage.Native;
using static OrleansShards.Tests.Storage.Native.NativeTestDatabase;

namespace OrleansShards.Tests.Storage.Native;

public sealed class SqliteHardeningTests : IDisposable
{
    private const int SQLITE_ERROR = 1;
    private const int SQLITE_TOOBIG = 18;
    private readonly NativeTestDatabase _db = new();
    private readonly SqliteConnection _connection;

    public SqliteHardeningTests()
    {
        _connection = _db.Open();
        Execute(_connection, "CREATE TABLE t(id INTEGER PRIMARY KEY, data BLOB, more BLOB)");
        SqliteHardening.Apply(_connection);
    }

    public void Dispose() => _db.Dispose();

    [Fact]
    public void Apply_rejects_a_statement_when_it_is_longer_than_100_KB()
    {
        var sql = new StringBuilder("SELECT 1 /*").Append('x', 101 * 1024).Append("*/").ToString();

        var error = Assert.Throws<SqliteException>(() => Scalar(_connection, sql));

        Assert.Equal(SQLITE_TOOBIG, error.SqliteErrorCode);
        Assert.Equal(1L, Scalar(_connection, new StringBuilder("SELECT 1 /*").Append('x', 99 * 1024).Append("*/").ToString()));
    }

    [Fact]
    public void Apply_rejects_a_statement_when_it_has_101_parameters()
    {
        var error = Assert.Throws<SqliteException>(() => Execute(_connection, SelectParameters(101), new object?[101]));

        Assert.Equal(SQLITE_ERROR, error.SqliteErrorCode);
        Assert.Contains("too many SQL variables", error.Message, StringComparison.Ordinal);
        Execute(_connection, SelectParameters(100), new object?[100]);
    }

    [Theory]
    [InlineData("INSERT INTO t(data) VALUES (randomblob(3000000))")]
    [InlineData("INSERT INTO t(data) VALUES (zeroblob(3000000))")]
    [InlineData("INSERT INTO t(data, more) VALUES (randomblob(1100000), randomblob(1100000))")]
    public void Apply_rejects_a_value_or_row_when_it_is_larger_than_2_MB(string sql)
    {
        var error = Assert.Throws<SqliteException>(() => Execute(_connection, sql));

        Assert.Equal(SQLITE_TOOBIG, error.SqliteErrorCode);
        Assert.Equal(0L, Scalar(_connection, "SELECT count(*) FROM t"));
    }

    [Fact]
    public void Apply_rejects_a_bound_blob_when_it_is_larger_than_2_MB()
    {
        var error = Assert.Throws<SqliteException>(() => Execute(_connection, "INSERT INTO t(data) VALUES ($p1)", new byte[3_000_000]));

        Assert.Equal(SQLITE_TOOBIG, error.SqliteErrorCode);
        Execute(_connection, "INSERT INTO t(data) VALUES ($p1)", new byte[1_000_000]);
    }

    [Theory]
    [InlineData("ATTACH DATABASE '{0}' AS other")]
    [InlineData("VACUUM INTO '{0}'")]
    [InlineData("VACUUM")]
    public void Apply_rejects_attaching_when_no_authorizer_is_installed(string sql)
    {
        var target = _db.PathOf("copy.db");

        var error = Assert.Throws<SqliteException>(() => Execute(_connection, string.Format(System.Globalization.CultureInfo.InvariantCulture, sql, target)));

        Assert.False(File.Exists(target));
        Assert.Equal(SQLITE_ERROR, error.SqliteErrorCode);
        Assert.Contains("too many attached databases", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Apply_disables_load_extension_when_called_from_SQL()
    {
        var error = Assert.Throws<SqliteException>(() => Scalar(_connection, "SELECT load_extension('/lib/x86_64-linux-gnu/libc.so.6')"));

        Assert.Contains("not authorized", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Apply_keeps_the_schema_read_only_when_writable_schema_is_requested()
    {
        Execute(_connection, "PRAGMA writable_schema = 1");

        var error = Assert.Throws<SqliteException>(() => Execute(_connection, "UPDATE sqlite_master SET sql = 'CREATE TABLE t(x)' WHERE name = 't'"));

        Assert.Contains("may not be modified", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Apply_sets_the_documented_limits()
    {
        Assert.Equal(100 * 1024, SqliteHardening.GetLimit(_connection, SqliteLimit.SqlLength));
        Assert.Equal(100, SqliteHardening.GetLimit(_connection, SqliteLimit.VariableNumber));
        Assert.Equal(2 * 1024 * 1024, SqliteHardening.GetLimit(_connection, SqliteLimit.Length));
        Assert.Equal(0, SqliteHardening.GetLimit(_connection, SqliteLimit.Attached));
        Assert.Equal(0L, Scalar(_connection, "PRAGMA trusted_schema"));
    }

    [Fact]
    public void SetLimit_returns_the_previous_value_so_the_engine_can_log_a_large_changeset()
    {
        Execute(_connection, "CREATE TABLE _changes(seq INTEGER PRIMARY KEY, data BLOB)");
        var big = new byte[3_000_000];

        var previous = SqliteHardening.SetLimit(_connection, SqliteLimit.Length, 64 * 1024 * 1024);
        try
        {
            Execute(_connection, "INSERT INTO _changes(data) VALUES ($p1)", big);
        }
        finally
        {
            SqliteHardening.SetLimit(_connection, SqliteLimit.Length, previous);
        }

        Assert.Equal(2 * 1024 * 1024, previous);
        Assert.Equal(3_000_000L, Scalar(_connection, "SELECT length(data) FROM _changes"));
        Assert.Throws<SqliteException>(() => Execute(_connection, "INSERT INTO _changes(data) VALUES ($p1)", big));
    }

    [Fact]
    public void SetLimit_throws_when_the_value_is_above_the_compile_time_maximum()
    {
        Assert.Throws<InvalidOperationException>(() => SqliteHardening.SetLimit(_connection, SqliteLimit.Attached, 1000));
    }

    private static string SelectParameters(int count) =>
        "SELECT " + string.Join(", ", Enumerable.Range(1, count).Select(i => "$p" + i));
}
