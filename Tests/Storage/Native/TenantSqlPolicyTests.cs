using Microsoft.Data.Sqlite;
using OrleansShards.Grains.Storage.Native;
using static OrleansShards.Tests.Storage.Native.NativeTestDatabase;

namespace OrleansShards.Tests.Storage.Native;

/// <summary>The policy on a hardened connection, as the engine runs tenant SQL.</summary>
public sealed class TenantSqlPolicyTests : IDisposable
{
    private const int SQLITE_ERROR = 1;
    private const int SQLITE_AUTH = 23;
    private readonly NativeTestDatabase _db = new();
    private readonly SqliteConnection _connection;
    private readonly TenantSqlPolicy _policy = new();
    private readonly SqliteAuthorizer _authorizer;

    public TenantSqlPolicyTests()
    {
        _connection = _db.Open();
        Execute(_connection, "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT); CREATE TABLE _meta(k TEXT PRIMARY KEY, v); INSERT INTO _meta VALUES ('capacity:size', 1)");
        SqliteHardening.Apply(_connection);
        _authorizer = SqliteAuthorizer.Install(_connection, _policy);
    }

    public void Dispose()
    {
        _authorizer.Dispose();
        _db.Dispose();
    }

    [Theory]
    [InlineData("ATTACH DATABASE 'x.db' AS x")]
    [InlineData("DETACH DATABASE main")]
    [InlineData("VACUUM INTO '/tmp/orleansshards-vacuum-into.db'")]
    [InlineData("VACUUM")]
    [InlineData("SELECT load_extension('libc.so.6')")]
    [InlineData("SELECT LOAD_EXTENSION('libc.so.6')")]
    [InlineData("SELECT * FROM _meta")]
    [InlineData("SELECT count(*) FROM _meta")]
    [InlineData("SELECT v FROM t WHERE id IN (SELECT rowid FROM _meta)")]
    [InlineData("INSERT INTO _meta VALUES ('x', 1)")]
    [InlineData("UPDATE _meta SET v = 0")]
    [InlineData("DELETE FROM _meta")]
    [InlineData("DROP TABLE _meta")]
    [InlineData("PRAGMA journal_mode=DELETE")]
    [InlineData("PRAGMA journal_mode")]
    [InlineData("PRAGMA writable_schema=1")]
    [InlineData("PRAGMA user_version=5")]
    [InlineData("PRAGMA user_version=''")]
    [InlineData("PRAGMA table_info(_meta)")]
    [InlineData("SELECT * FROM pragma_table_info('_meta')")]
    [InlineData("PRAGMA max_page_count=1")]
    [InlineData("BEGIN")]
    [InlineData("SAVEPOINT s")]
    [InlineData("CREATE TABLE x(a)")]
    [InlineData("CREATE TEMP TABLE x(a)")]
    [InlineData("CREATE INDEX i ON t(v)")]
    [InlineData("ALTER TABLE t ADD COLUMN w")]
    [InlineData("DROP TABLE t")]
    public void Authorize_denies_the_statement_when_it_breaks_a_tenant_rule(string sql)
    {
        var error = Assert.Throws<SqliteException>(() => Execute(_connection, sql));

        // A denied action fails with SQLITE_AUTH; a denied function with SQLITE_ERROR
        // ("not authorized to use function"). Either way the authorizer made the decision.
        Assert.Equal(IsFunctionCall(sql) ? SQLITE_ERROR : SQLITE_AUTH, error.SqliteErrorCode);
        Assert.NotNull(_authorizer.LastDenied);
        Assert.False(File.Exists("/tmp/orleansshards-vacuum-into.db"));
    }

    [Theory]
    [InlineData("PRAGMA table_info(t)")]
    [InlineData("PRAGMA table_xinfo('t')")]
    [InlineData("PRAGMA index_list(t)")]
    [InlineData("PRAGMA user_version")]
    [InlineData("PRAGMA page_count")]
    [InlineData("PRAGMA freelist_count")]
    [InlineData("SELECT name FROM pragma_table_info('t')")]
    [InlineData("SELECT name FROM sqlite_schema")]
    [InlineData("INSERT INTO t VALUES (1, 'a') ON CONFLICT(id) DO UPDATE SET v = excluded.v RETURNING id")]
    [InlineData("WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 5) SELECT sum(n) FROM c")]
    public void Authorize_allows_the_statement_when_it_is_ordinary_tenant_SQL(string sql)
    {
        Execute(_connection, sql);

        Assert.Null(_authorizer.LastDenied);
    }

    [Theory]
    [InlineData("CREATE TABLE x(a)")]
    [InlineData("CREATE INDEX i ON t(v)")]
    [InlineData("ALTER TABLE t ADD COLUMN w")]
    [InlineData("CREATE VIEW w AS SELECT v FROM t")]
    [InlineData("CREATE TRIGGER tr AFTER INSERT ON t BEGIN UPDATE t SET v = 'x' WHERE id = new.id; END")]
    [InlineData("DROP TABLE t")]
    public void Authorize_allows_schema_changes_when_AllowSchemaChanges_is_set(string sql)
    {
        _policy.AllowSchemaChanges = true;

        Execute(_connection, sql);

        Assert.Null(_authorizer.LastDenied);
    }

    [Theory]
    [InlineData("CREATE TABLE _x(a)")]
    [InlineData("CREATE INDEX i ON _meta(v)")]
    [InlineData("CREATE TRIGGER tr AFTER INSERT ON _meta BEGIN SELECT 1; END")]
    [InlineData("ALTER TABLE _meta ADD COLUMN w")]
    [InlineData("DROP TABLE _meta")]
    [InlineData("CREATE TEMP TRIGGER tr AFTER INSERT ON t BEGIN SELECT 1; END")]
    public void Authorize_denies_internal_or_temp_schema_objects_even_when_AllowSchemaChanges_is_set(string sql)
    {
        _policy.AllowSchemaChanges = true;

        var error = Assert.Throws<SqliteException>(() => Execute(_connection, sql));

        Assert.Equal(SQLITE_AUTH, error.SqliteErrorCode);
    }

    [Fact]
    public void Authorize_denies_a_tenant_trigger_when_it_writes_an_internal_table()
    {
        using (_authorizer.Suspend())
        {
            Execute(_connection, "CREATE TRIGGER evil AFTER INSERT ON t BEGIN DELETE FROM _meta; END");
        }

        var error = Assert.Throws<SqliteException>(() => Execute(_connection, "INSERT INTO t VALUES (1, 'a')"));

        Assert.Equal(SQLITE_AUTH, error.SqliteErrorCode);
        Assert.Equal(1L, Scalar(_connection, "SELECT 1 FROM t UNION ALL SELECT 1 LIMIT 1")); // connection still usable
        using (_authorizer.Suspend())
        {
            Assert.Equal(1L, Scalar(_connection, "SELECT count(*) FROM _meta"));
        }
    }

    [Fact]
    public void Authorize_denies_reading_through_a_view_when_the_view_reads_an_internal_table()
    {
        _policy.AllowSchemaChanges = true;
        Execute(_connection, "CREATE VIEW w AS SELECT v FROM _meta"); // creation does not read

        var error = Assert.Throws<SqliteException>(() => Scalar(_connection, "SELECT * FROM w"));

        Assert.Equal(SQLITE_AUTH, error.SqliteErrorCode);
        Assert.Equal("Read _meta 'v'", _authorizer.LastDenied);
    }

    [Fact]
    public void Suspend_lets_the_engine_write_internal_tables_and_run_transactions()
    {
        using (_authorizer.Suspend())
        {
            using var tx = _connection.BeginTransaction();
            Execute(_connection, "INSERT INTO _meta VALUES ('k', 2)");
            tx.Commit();
        }

        Assert.Throws<SqliteException>(() => Scalar(_connection, "SELECT v FROM _meta WHERE k = 'k'"));
        using (_authorizer.Suspend())
        {
            Assert.Equal(2L, Scalar(_connection, "SELECT v FROM _meta WHERE k = 'k'"));
        }
    }

    private static bool IsFunctionCall(string sql) => sql.Contains("load_extension", StringComparison.OrdinalIgnoreCase);
}
