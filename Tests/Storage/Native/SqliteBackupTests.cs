using OrleansShards.Grains.Storage.Native;
using static OrleansShards.Tests.Storage.Native.NativeTestDatabase;

namespace OrleansShards.Tests.Storage.Native;

public sealed class SqliteBackupTests : IDisposable
{
    private readonly NativeTestDatabase _db = new();

    public void Dispose() => _db.Dispose();

    [Theory]
    [InlineData(-1)]
    [InlineData(3)]
    public void Copy_makes_the_destination_equal_to_the_source(int pagesPerStep)
    {
        var source = _db.Open("source.db");
        Execute(source, "PRAGMA journal_mode=WAL; CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT); CREATE INDEX t_v ON t(v); PRAGMA user_version = 7");
        Execute(source, "WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 2000) INSERT INTO t SELECT n, printf('row %d', n) FROM c");
        var destination = _db.Open("snapshot.db");
        Execute(destination, "CREATE TABLE old(x)");

        var pages = SqliteBackup.Copy(source, destination, pagesPerStep);

        Assert.Equal((long)pages, Scalar(source, "PRAGMA page_count"));
        Assert.Equal(Rows(source, "SELECT * FROM t ORDER BY id"), Rows(destination, "SELECT * FROM t ORDER BY id"));
        Assert.Equal(7L, Scalar(destination, "PRAGMA user_version"));
        Assert.Equal(["t", "t_v"], Rows(destination, "SELECT name FROM sqlite_schema ORDER BY name"));
        Assert.Equal("ok", Scalar(destination, "PRAGMA integrity_check"));
    }

    [Fact]
    public void Copy_throws_and_leaves_the_destination_when_it_has_an_open_transaction()
    {
        var source = _db.Open("source.db");
        Execute(source, "CREATE TABLE t(x); INSERT INTO t VALUES (1)");
        var destination = _db.Open("snapshot.db");
        Execute(destination, "CREATE TABLE keep(x)");
        using var tx = destination.BeginTransaction();

        var error = Assert.Throws<Microsoft.Data.Sqlite.SqliteException>(() => SqliteBackup.Copy(source, destination));

        Assert.NotEqual(0, error.SqliteErrorCode);
        tx.Rollback();
        Assert.Equal(["keep"], Rows(destination, "SELECT name FROM sqlite_schema"));
    }

    [Fact]
    public void Copy_throws_when_pagesPerStep_is_zero()
    {
        var source = _db.Open("source.db");
        var destination = _db.Open("snapshot.db");

        Assert.Throws<ArgumentOutOfRangeException>(() => SqliteBackup.Copy(source, destination, 0));
    }
}
