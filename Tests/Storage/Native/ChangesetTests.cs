using Microsoft.Data.Sqlite;
using OrleansShards.Grains.Storage.Native;
using static OrleansShards.Tests.Storage.Native.NativeTestDatabase;

namespace OrleansShards.Tests.Storage.Native;

public sealed class ChangesetTests : IDisposable
{
    private const string Schema = "CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT, score REAL, data BLOB, n INTEGER)";
    private readonly NativeTestDatabase _db = new();
    private readonly SqliteConnection _source;
    private readonly SqliteConnection _target;

    public ChangesetTests()
    {
        _source = _db.Open("source.db");
        _target = _db.Open("target.db");
        Execute(_source, Schema);
        Execute(_target, Schema);
    }

    public void Dispose() => _db.Dispose();

    [Fact]
    public void Read_decodes_every_storage_class_when_a_row_is_inserted()
    {
        var changeset = Capture(_source, "INSERT INTO t VALUES (9223372036854775807, 'héllo ✓', 1.5, x'00ff10', NULL)");

        var record = Assert.Single(Changeset.Read(changeset));

        Assert.Equal(ChangeOperation.Insert, record.Op);
        Assert.Equal(5, record.ColumnCount);
        Assert.Equal([true, false, false, false, false], record.PrimaryKeyColumns);
        Assert.Equal(SqlValue.FromInteger(long.MaxValue), record.New[0]);
        Assert.Equal(SqlValue.FromText("héllo ✓"), record.New[1]);
        Assert.Equal(SqlValue.FromReal(1.5), record.New[2]);
        Assert.Equal(SqlValue.FromBlob([0x00, 0xff, 0x10]), record.New[3]);
        Assert.Equal(SqlValue.Null, record.New[4]);
        Assert.All(record.Old, v => Assert.Null(v));
    }

    [Fact]
    public void Read_leaves_unchanged_columns_null_when_a_row_is_updated()
    {
        Execute(_source, "INSERT INTO t VALUES (1, 'a', 2.0, x'01', 3)");

        var record = Assert.Single(Changeset.Read(Capture(_source, "UPDATE t SET name = 'b' WHERE id = 1")));

        Assert.Equal(ChangeOperation.Update, record.Op);
        Assert.Equal(SqlValue.FromInteger(1), record.Old[0]);
        Assert.Equal(SqlValue.FromText("a"), record.Old[1]);
        Assert.Equal(SqlValue.FromText("b"), record.New[1]);
        Assert.Null(record.Old[2]);
        Assert.Null(record.New[2]);
        Assert.Null(record.New[4]);
    }

    [Fact]
    public void Read_returns_old_values_when_a_row_is_deleted()
    {
        Execute(_source, "INSERT INTO t VALUES (1, 'a', 2.0, x'', 3)");

        var record = Assert.Single(Changeset.Read(Capture(_source, "DELETE FROM t WHERE id = 1")));

        Assert.Equal(ChangeOperation.Delete, record.Op);
        Assert.Equal(SqlValue.FromBlob([]), record.Old[3]);
        Assert.Equal(SqlValue.FromInteger(3), record.Old[4]);
        Assert.All(record.New, v => Assert.Null(v));
    }

    [Fact]
    public void Read_names_each_table_when_a_changeset_spans_several_tables()
    {
        Execute(_source, "CREATE TABLE u(id INTEGER PRIMARY KEY); CREATE TABLE vw(k TEXT PRIMARY KEY)");

        var tables = Changeset.Read(Capture(_source, "INSERT INTO u VALUES (1); INSERT INTO t(id) VALUES (1); INSERT INTO vw VALUES ('k'); INSERT INTO u VALUES (2)"))
            .Select(r => r.Table)
            .ToList();

        Assert.Equal(["t", "u", "u", "vw"], tables.Order());
    }

    [Fact]
    public void Read_throws_when_the_changeset_is_malformed()
    {
        var changeset = Capture(_source, "INSERT INTO t VALUES (1, 'a', 2.0, x'01', 3)");

        var error = Assert.Throws<SqliteException>(() => Changeset.Read(changeset.AsSpan(0, changeset.Length - 3)));

        Assert.Equal(11, error.SqliteErrorCode); // SQLITE_CORRUPT
    }

    [Fact]
    public void Apply_reproduces_the_source_when_the_target_started_equal()
    {
        var changeset = Capture(_source, "INSERT INTO t VALUES (1, 'a', 1.0, NULL, 1), (2, 'b', 2.0, x'02', 2); UPDATE t SET n = 5 WHERE id = 1");

        var result = Changeset.Apply(_target, changeset, ChangesetConflictPolicy.Strict);

        Assert.Equal(0, result.Total);
        Assert.Equal(Rows(_source, "SELECT * FROM t ORDER BY id"), Rows(_target, "SELECT * FROM t ORDER BY id"));
    }

    [Fact]
    public void Apply_with_replay_policy_replaces_and_omits_and_counts_conflicts()
    {
        Execute(_source, "INSERT INTO t VALUES (1, 'a', 1.0, NULL, 1), (2, 'b', 2.0, NULL, 2)");
        var changeset = Capture(_source, "INSERT INTO t VALUES (3, 'c', 3.0, NULL, 3); UPDATE t SET name = 'A' WHERE id = 1; DELETE FROM t WHERE id = 2");
        Execute(_target, "INSERT INTO t VALUES (1, 'stale', 1.0, NULL, 1), (3, 'old', 0.0, NULL, 0)");

        var result = Changeset.Apply(_target, changeset, ChangesetConflictPolicy.Replay);

        Assert.Equal(1, result.Data);      // row 1 has other old values → replaced
        Assert.Equal(1, result.Conflict);  // row 3 exists → replaced
        Assert.Equal(1, result.NotFound);  // row 2 missing → omitted
        Assert.Equal(3, result.Total);
        Assert.Equal(["1|A|1|NULL|1", "3|c|3|NULL|3"], Rows(_target, "SELECT * FROM t ORDER BY id"));
    }

    [Fact]
    public void Apply_throws_and_applies_nothing_when_a_conflict_resolves_to_abort()
    {
        var changeset = Capture(_source, "INSERT INTO t VALUES (1, 'a', 1.0, NULL, 1), (2, 'b', 2.0, NULL, 2)");
        Execute(_target, "INSERT INTO t VALUES (2, 'taken', 0.0, NULL, 0)");

        var error = Assert.Throws<SqliteException>(() => Changeset.Apply(_target, changeset, ChangesetConflictPolicy.Strict));

        Assert.Equal(4, error.SqliteErrorCode); // SQLITE_ABORT
        Assert.Contains("CONFLICT", error.Message, StringComparison.Ordinal);
        Assert.Equal(["2|taken|0|NULL|0"], Rows(_target, "SELECT * FROM t ORDER BY id"));
    }

    [Fact]
    public void Apply_aborts_on_constraint_conflicts_under_the_replay_policy()
    {
        Execute(_target, "DROP TABLE t; CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT NOT NULL, score REAL, data BLOB, n INTEGER)");
        var changeset = Capture(_source, "INSERT INTO t VALUES (1, NULL, 1.0, NULL, 1)");

        var error = Assert.Throws<SqliteException>(() => Changeset.Apply(_target, changeset, ChangesetConflictPolicy.Replay));

        Assert.Contains("CONSTRAINT", error.Message, StringComparison.Ordinal);
        Assert.Equal(0L, Scalar(_target, "SELECT count(*) FROM t"));
    }

    [Fact]
    public void Apply_rolls_back_with_the_callers_transaction()
    {
        var changeset = Capture(_source, "INSERT INTO t VALUES (1, 'a', 1.0, NULL, 1)");
        using (var tx = _target.BeginTransaction())
        {
            Changeset.Apply(_target, changeset, ChangesetConflictPolicy.Strict);
            Assert.Equal(1L, Scalar(_target, "SELECT count(*) FROM t"));
            tx.Rollback();
        }

        Assert.Equal(0L, Scalar(_target, "SELECT count(*) FROM t"));
    }

    [Fact]
    public void Apply_is_denied_when_the_tenant_policy_is_enforcing_and_works_when_suspended()
    {
        var changeset = Capture(_source, "INSERT INTO t VALUES (1, 'a', 1.0, NULL, 1)");
        using var authorizer = SqliteAuthorizer.Install(_target, new TenantSqlPolicy());

        Assert.Throws<SqliteException>(() => Changeset.Apply(_target, changeset, ChangesetConflictPolicy.Strict));
        using (authorizer.Suspend())
        {
            Changeset.Apply(_target, changeset, ChangesetConflictPolicy.Strict);
            Assert.Equal(1L, Scalar(_target, "SELECT count(*) FROM t"));
        }
    }

    [Fact]
    public void Invert_undoes_the_changeset_when_applied_after_it()
    {
        Execute(_source, "INSERT INTO t VALUES (1, 'a', 1.0, NULL, 1)");
        Execute(_target, "INSERT INTO t VALUES (1, 'a', 1.0, NULL, 1)");
        var changeset = Capture(_source, "INSERT INTO t VALUES (2, 'b', 2.0, NULL, 2); UPDATE t SET name = 'z' WHERE id = 1");
        Changeset.Apply(_target, changeset, ChangesetConflictPolicy.Strict);

        var inverse = Changeset.Invert(changeset);
        Changeset.Apply(_target, inverse, ChangesetConflictPolicy.Strict);

        Assert.Equal(["1|a|1|NULL|1"], Rows(_target, "SELECT * FROM t ORDER BY id"));
        Assert.Equal(
            [ChangeOperation.Delete, ChangeOperation.Update],
            Changeset.Read(inverse).Select(r => r.Op).Order());
    }

    [Fact]
    public void Concat_equals_applying_both_in_order()
    {
        var first = Capture(_source, "INSERT INTO t VALUES (1, 'a', 1.0, NULL, 1)");
        var second = Capture(_source, "UPDATE t SET name = 'b' WHERE id = 1; INSERT INTO t VALUES (2, 'c', 2.0, NULL, 2)");

        var combined = Changeset.Concat(first, second);
        Changeset.Apply(_target, combined, ChangesetConflictPolicy.Strict);

        Assert.Equal(2, Changeset.Read(combined).Count); // the update folds into the insert
        Assert.Equal(Rows(_source, "SELECT * FROM t ORDER BY id"), Rows(_target, "SELECT * FROM t ORDER BY id"));
    }

    [Fact]
    public void Invert_and_Read_return_nothing_when_the_changeset_is_empty()
    {
        Assert.Empty(Changeset.Invert([]));
        Assert.Empty(Changeset.Read([]));
        Assert.Equal(0, Changeset.Apply(_target, [], ChangesetConflictPolicy.Strict).Total);
    }

    [Fact]
    public void Apply_advances_autoincrement_counters_although_sqlite_sequence_is_not_captured()
    {
        Execute(_source, "CREATE TABLE a(id INTEGER PRIMARY KEY AUTOINCREMENT, v TEXT)");
        Execute(_target, "CREATE TABLE a(id INTEGER PRIMARY KEY AUTOINCREMENT, v TEXT)");
        var inserts = Capture(_source, "INSERT INTO a(v) VALUES ('x'), ('y')");
        var delete = Capture(_source, "DELETE FROM a WHERE id = 2");

        Changeset.Apply(_target, inserts, ChangesetConflictPolicy.Replay);
        Changeset.Apply(_target, delete, ChangesetConflictPolicy.Replay);
        Execute(_target, "INSERT INTO a(v) VALUES ('z')");

        Assert.DoesNotContain("sqlite_sequence", Changeset.Read(inserts).Select(r => r.Table));
        Assert.Equal(3L, Scalar(_target, "SELECT max(id) FROM a"));
    }

    private static byte[] Capture(SqliteConnection connection, string sql)
    {
        using var session = SqliteSession.Create(connection);
        Execute(connection, sql);
        return session.GetChangeset();
    }
}
