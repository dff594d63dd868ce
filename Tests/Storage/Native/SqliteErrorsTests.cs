using Microsoft.Data.Sqlite;
using OrleansShards.Grains.Storage.Native;
using static OrleansShards.Tests.Storage.Native.NativeTestDatabase;

namespace OrleansShards.Tests.Storage.Native;

public sealed class SqliteErrorsTests : IDisposable
{
    private readonly NativeTestDatabase _db = new();
    private readonly SqliteConnection _connection;

    public SqliteErrorsTests()
    {
        _connection = _db.Open();
        Execute(_connection, """
            PRAGMA foreign_keys = ON;
            CREATE TABLE p(id INTEGER PRIMARY KEY);
            CREATE TABLE t(id INTEGER PRIMARY KEY, email TEXT UNIQUE, n INTEGER NOT NULL DEFAULT 0 CHECK (n >= 0), p INTEGER REFERENCES p(id));
            CREATE TABLE k(a TEXT, b TEXT, PRIMARY KEY (a, b)) WITHOUT ROWID;
            INSERT INTO t(id, email) VALUES (1, 'a@x');
            INSERT INTO k VALUES ('a', 'b');
            """);
    }

    public void Dispose() => _db.Dispose();

    [Theory]
    [InlineData("INSERT INTO t(id, email) VALUES (2, 'a@x')", ShardErrorCode.ConflictUnique)]
    [InlineData("INSERT INTO t(id, email) VALUES (1, 'b@x')", ShardErrorCode.ConflictUnique)]
    [InlineData("INSERT INTO k VALUES ('a', 'b')", ShardErrorCode.ConflictUnique)]
    [InlineData("INSERT INTO t(id, n) VALUES (3, NULL)", ShardErrorCode.ConstraintViolation)]
    [InlineData("INSERT INTO t(id, n) VALUES (3, -1)", ShardErrorCode.ConstraintViolation)]
    [InlineData("INSERT INTO t(id, p) VALUES (3, 42)", ShardErrorCode.ConstraintViolation)]
    [InlineData("SELEC 1", ShardErrorCode.SqlError)]
    [InlineData("SELECT nope FROM t", ShardErrorCode.SqlError)]
    [InlineData("INSERT INTO t(id) VALUES ('not a number')", ShardErrorCode.SqlError)]
    public void ToShardException_maps_the_error_when_a_real_statement_fails(string sql, ShardErrorCode expected)
    {
        var error = Assert.Throws<SqliteException>(() => Execute(_connection, sql));

        var mapped = SqliteErrors.ToShardException(error);

        Assert.Equal(expected, mapped.Code);
        Assert.Equal(error.SqliteErrorCode, mapped.SqliteCode);
        Assert.Equal(error.SqliteExtendedErrorCode, mapped.SqliteExtendedCode);
        Assert.Same(error, mapped.InnerException);
    }

    [Fact]
    public void ToShardException_maps_TOOBIG_to_PayloadTooLarge_when_a_value_exceeds_the_limit()
    {
        SqliteHardening.Apply(_connection);

        var error = Assert.Throws<SqliteException>(() => Execute(_connection, "SELECT randomblob(3000000)"));

        Assert.Equal(ShardErrorCode.PayloadTooLarge, SqliteErrors.ToShardException(error).Code);
    }

    [Fact]
    public void ToShardException_maps_FULL_to_CapacityExceeded_when_max_page_count_is_reached()
    {
        Execute(_connection, "PRAGMA max_page_count = " + Scalar(_connection, "PRAGMA page_count"));

        var error = Assert.Throws<SqliteException>(() => Execute(_connection, "INSERT INTO t(id, email) SELECT 10, hex(randomblob(100000))"));

        Assert.Equal(ShardErrorCode.CapacityExceeded, SqliteErrors.ToShardException(error).Code);
    }

    [Fact]
    public void ToShardException_maps_AUTH_to_SqlError_naming_the_denied_action()
    {
        using var authorizer = SqliteAuthorizer.Install(_connection, new TenantSqlPolicy());

        var error = Assert.Throws<SqliteException>(() => Execute(_connection, "ATTACH 'x.db' AS x"));
        var mapped = SqliteErrors.ToShardException(error, deniedAction: authorizer.LastDenied);

        Assert.Equal(ShardErrorCode.SqlError, mapped.Code);
        Assert.Equal("not authorized: Attach x.db", mapped.Message);
        Assert.Equal(23, mapped.SqliteCode);
    }

    [Fact]
    public void ToShardException_maps_BUSY_to_Retryable_when_another_connection_holds_the_write_lock()
    {
        var other = _db.Open();
        Execute(other, "BEGIN IMMEDIATE");
        using var command = _connection.CreateCommand();
        command.CommandText = "INSERT INTO p VALUES (1)";
        command.CommandTimeout = 1; // Microsoft.Data.Sqlite retries busy for this long (0 = forever)

        var error = Assert.Throws<SqliteException>(() => command.ExecuteNonQuery());
        var mapped = SqliteErrors.ToShardException(error);

        Assert.Equal(ShardErrorCode.Retryable, mapped.Code);
        Assert.True(mapped.Retryable);
    }

    [Fact]
    public void ToShardException_maps_CANTOPEN_to_Overloaded_without_server_details()
    {
        using var connection = new SqliteConnection("Data Source=" + _db.PathOf("missing-dir/x.db") + ";Mode=ReadOnly;Pooling=False");

        var error = Assert.Throws<SqliteException>(connection.Open);
        var mapped = SqliteErrors.ToShardException(error);

        // A file that cannot be opened (out of descriptors, issue 15 item 4) is retryable, never INTERNAL.
        Assert.Equal(ShardErrorCode.Overloaded, mapped.Code);
        Assert.True(mapped.Retryable);
        Assert.DoesNotContain("missing-dir", mapped.Message, StringComparison.Ordinal);
    }

    [Theory]
    // interrupt: 0 None, 1 Deadline, 2 Canceled (InterruptReason is internal; xunit theories need public types)
    [InlineData(5, 517, 0, ShardErrorCode.Retryable)]      // BUSY_SNAPSHOT
    [InlineData(6, 262, 0, ShardErrorCode.Retryable)]      // LOCKED_SHAREDCACHE
    [InlineData(19, 2579, 0, ShardErrorCode.ConflictUnique)] // CONSTRAINT_ROWID
    [InlineData(19, 275, 0, ShardErrorCode.ConstraintViolation)] // CONSTRAINT_CHECK
    [InlineData(9, 9, 1, ShardErrorCode.Timeout)]
    [InlineData(9, 9, 2, ShardErrorCode.Timeout)]
    [InlineData(9, 9, 0, ShardErrorCode.Internal)]
    [InlineData(25, 25, 0, ShardErrorCode.SqlError)]       // RANGE
    [InlineData(10, 522, 0, ShardErrorCode.Internal)]      // IOERR_SHORT_READ
    [InlineData(11, 11, 0, ShardErrorCode.Internal)]       // CORRUPT
    public void Classify_maps_result_codes_when_no_statement_can_produce_them_here(int primary, int extended, int interrupt, ShardErrorCode expected)
    {
        Assert.Equal(expected, SqliteErrors.Classify(primary, extended, (InterruptReason)interrupt));
    }
}
