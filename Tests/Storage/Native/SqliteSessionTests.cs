using Microsoft.Data.Sqlite;
using OrleansShards.Grains.Storage.Native;
using static OrleansShards.Tests.Storage.Native.NativeTestDatabase;

namespace OrleansShards.Tests.Storage.Native;

public sealed class SqliteSessionTests : IDisposable
{
    private readonly NativeTestDatabase _db = new();
    private readonly SqliteConnection _connection;

    public SqliteSessionTests()
    {
        _connection = _db.Open();
        Execute(_connection, "CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT); CREATE TABLE _changes(seq INTEGER PRIMARY KEY, data BLOB)");
    }

    public void Dispose() => _db.Dispose();

    [Fact]
    public void IsEmpty_is_true_when_nothing_changed()
    {
        using var session = SqliteSession.Create(_connection);

        Assert.True(session.IsEmpty);
        Assert.Empty(session.GetChangeset());
    }

    [Fact]
    public void GetChangeset_records_changes_inside_a_transaction_and_the_log_write_commits_with_them()
    {
        using var session = SqliteSession.Create(_connection);
        using (var tx = _connection.BeginTransaction())
        {
            Execute(_connection, "INSERT INTO t VALUES (1, 'a'), (2, 'b')");
            var changeset = session.GetChangeset();
            Execute(_connection, "INSERT INTO _changes(data) VALUES ($p1)", changeset);
            tx.Commit();
        }

        Assert.False(session.IsEmpty);
        var logged = (byte[])Scalar(_connection, "SELECT data FROM _changes")!;
        var records = Changeset.Read(logged);
        Assert.Equal(2, records.Count);
        Assert.All(records, r => Assert.Equal("t", r.Table));
    }

    [Fact]
    public void GetChangeset_excludes_internal_tables_when_their_name_starts_with_underscore()
    {
        using var session = SqliteSession.Create(_connection);
        Execute(_connection, "INSERT INTO _changes(data) VALUES (x'01')");

        Assert.Empty(Changeset.Read(session.GetChangeset()));

        Execute(_connection, "INSERT INTO t VALUES (1, 'a')");
        Assert.Equal(["t"], Changeset.Read(session.GetChangeset()).Select(r => r.Table));
    }

    [Fact]
    public void GetChangeset_captures_rowid_tables_when_no_primary_key_is_declared()
    {
        Execute(_connection, "CREATE TABLE loose(a TEXT, b INTEGER)");
        using var session = SqliteSession.Create(_connection);
        Execute(_connection, "INSERT INTO loose VALUES ('x', 7)");

        var record = Assert.Single(Changeset.Read(session.GetChangeset()));

        Assert.Equal("loose", record.Table);
        Assert.Equal(3, record.ColumnCount); // the rowid comes first, as the key
        Assert.Equal([true, false, false], record.PrimaryKeyColumns);
        Assert.Equal(SqlValue.FromText("x"), record.New[1]);
        Assert.Equal(SqlValue.FromInteger(7), record.New[2]);
    }

    [Fact]
    public void GetChangeset_is_empty_when_the_transaction_rolled_back()
    {
        using var session = SqliteSession.Create(_connection);
        using (var tx = _connection.BeginTransaction())
        {
            Execute(_connection, "INSERT INTO t VALUES (1, 'a')");
            tx.Rollback();
        }

        Assert.Empty(Changeset.Read(session.GetChangeset()));
    }

    [Fact]
    public void GetChangeset_suspends_the_authorizer_when_it_was_given_one()
    {
        // sqlite3session_changeset runs "SAVEPOINT changeset", which the tenant policy denies.
        Execute(_connection, "CREATE TABLE loose(a TEXT)");
        SqliteHardening.Apply(_connection);
        using var authorizer = SqliteAuthorizer.Install(_connection, new TenantSqlPolicy());
        using var unaware = SqliteSession.Create(_connection);
        using var session = SqliteSession.Create(_connection, authorizer);

        Execute(_connection, "INSERT INTO t VALUES (1, 'a'); INSERT INTO loose VALUES ('b')");

        var error = Assert.Throws<SqliteException>(unaware.GetChangeset);
        Assert.Equal("Savepoint BEGIN 'changeset'", authorizer.TakeLastDenied());
        Assert.Equal(["loose", "t"], Changeset.Read(session.GetChangeset()).Select(r => r.Table).Order());
        Assert.Null(authorizer.LastDenied);
        Assert.True(authorizer.Enabled);
    }

    [Fact]
    public void Create_throws_when_the_connection_is_closed()
    {
        using var closed = new SqliteConnection("Data Source=" + _db.PathOf());

        Assert.Throws<InvalidOperationException>(() => SqliteSession.Create(closed));
    }

    [Fact]
    public void Dispose_makes_further_use_throw_and_is_idempotent()
    {
        var session = SqliteSession.Create(_connection);
        session.Dispose();
        session.Dispose();

        Assert.Throws<ObjectDisposedException>(() => session.IsEmpty);
        Assert.Throws<ObjectDisposedException>(() => session.GetChangeset());
    }
}
