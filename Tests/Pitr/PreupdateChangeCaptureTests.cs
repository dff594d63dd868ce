using System.Globalization;
using System.Text;
using OrleansShards.Grains.Pitr;
using OrleansShards.Grains.Storage;
using OrleansShards.Grains.Storage.Native;
using OrleansShards.Grains.Writes;
using OrleansShards.Tests.Infrastructure;

namespace OrleansShards.Tests.Pitr;

/// <summary>
/// The pre-update-hook capture against SQLite's session extension: the same bytes for single-row changes,
/// and for random multi-work transactions (savepoints rolled back, REPLACE, upserts, primary-key updates,
/// cascades, trigger writes, tables of every key shape) changesets that replay a replica to the same content
/// with no conflict.
/// </summary>
public sealed class PreupdateChangeCaptureTests : IDisposable
{
    private static readonly string[] Schema =
    [
        "CREATE TABLE ipk(id INTEGER PRIMARY KEY, name TEXT, score REAL, data BLOB)",
        "CREATE TABLE nopk(a TEXT, b INTEGER)",
        "CREATE TABLE textpk(code TEXT PRIMARY KEY, qty INTEGER NOT NULL)",
        "CREATE TABLE composite(x INTEGER, y TEXT, v REAL, PRIMARY KEY (y, x))",
        "CREATE TABLE wr(k TEXT PRIMARY KEY, n INTEGER UNIQUE, note TEXT) WITHOUT ROWID",
        "CREATE TABLE parent(id INTEGER PRIMARY KEY, label TEXT)",
        "CREATE TABLE child(id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES parent(id) ON DELETE CASCADE ON UPDATE CASCADE, v TEXT)",
        "CREATE TABLE audit(id INTEGER PRIMARY KEY AUTOINCREMENT, what TEXT)",
        "CREATE TRIGGER ipk_audit AFTER UPDATE ON ipk BEGIN INSERT INTO audit(what) VALUES ('ipk ' || new.id); END",
    ];

    private readonly TempDirectory _dir = new("preupdate");

    public void Dispose() => _dir.Dispose();

    [Theory]
    [InlineData("INSERT INTO ipk VALUES (7, 'a', 1.5, x'00ff')")]
    [InlineData("UPDATE ipk SET name = 'b' WHERE id = 1")]
    [InlineData("UPDATE ipk SET score = 2 WHERE id = 1")]
    [InlineData("DELETE FROM ipk WHERE id = 1")]
    [InlineData("INSERT INTO nopk VALUES ('n', 3)")]
    [InlineData("UPDATE nopk SET b = 9 WHERE a = 'a'")]
    [InlineData("DELETE FROM nopk WHERE a = 'a'")]
    [InlineData("INSERT INTO textpk VALUES ('z', 1)")]
    [InlineData("UPDATE textpk SET qty = qty + 1 WHERE code = 'c1'")]
    [InlineData("INSERT INTO composite VALUES (5, 'q', 0.25)")]
    [InlineData("UPDATE composite SET v = -1 WHERE x = 1")]
    [InlineData("DELETE FROM composite WHERE x = 1")]
    [InlineData("INSERT INTO wr VALUES ('w9', 99, NULL)")]
    [InlineData("UPDATE wr SET note = 'changed' WHERE k = 'w1'")]
    [InlineData("DELETE FROM wr WHERE k = 'w1'")]
    [InlineData("INSERT INTO ipk VALUES (8, 'é✓', NULL, x'')")]
    [InlineData("INSERT INTO textpk VALUES ('" + "long-key-over-127-bytes-long-key-over-127-bytes-long-key-over-127-bytes-long-key-over-127-bytes-long-key-over-127-bytes-xxxxxxxx', 1)")]
    public void A_single_row_change_is_the_same_bytes_as_the_session_extension(string sql)
    {
        using var hooked = Open("hooked.db");
        using var session = Open("session.db");

        var ours = CaptureWith(new PreupdateChangeCapture(), hooked, sql);
        var theirs = CaptureWith(SessionChangeCapture.Instance, session, sql);

        Assert.Equal(Convert.ToHexString(theirs), Convert.ToHexString(ours));
    }

    [Fact]
    public void Net_effects_within_one_transaction_match_the_session_extension()
    {
        // Inserted then updated: an INSERT of the final values. Inserted then deleted: nothing.
        // Updated twice back to the original: nothing. Deleted then re-inserted differently: an UPDATE.
        const string sql = """
            INSERT INTO textpk VALUES ('new', 1); UPDATE textpk SET qty = 2 WHERE code = 'new';
            INSERT INTO textpk VALUES ('gone', 1); DELETE FROM textpk WHERE code = 'gone';
            UPDATE textpk SET qty = 100 WHERE code = 'c1'; UPDATE textpk SET qty = 1 WHERE code = 'c1';
            DELETE FROM textpk WHERE code = 'c2'; INSERT INTO textpk VALUES ('c2', 42)
            """;
        using var hooked = Open("hooked.db");
        using var session = Open("session.db");

        var ours = Changeset.Read(CaptureWith(new PreupdateChangeCapture(), hooked, sql));
        var theirs = Changeset.Read(CaptureWith(SessionChangeCapture.Instance, session, sql));

        Assert.Equal(Describe(theirs), Describe(ours));
        Assert.Equal(2, ours.Count);
    }

    [Fact]
    public void A_rolled_back_work_leaves_nothing_in_the_changeset()
    {
        using var source = Open("source.db");
        var capture = new PreupdateChangeCapture();
        source.Execute("BEGIN IMMEDIATE");
        using var scope = capture.Begin(source, schemaChange: false);
        RunWork(source, scope, "UPDATE textpk SET qty = 5 WHERE code = 'c1'", rollBack: false);
        RunWork(source, scope, "UPDATE textpk SET qty = 6 WHERE code = 'c1'; INSERT INTO textpk VALUES ('x', 1); DELETE FROM ipk", rollBack: true);
        var records = Changeset.Read(scope.TakeChangeset());
        source.Execute("COMMIT");

        var record = Assert.Single(records);
        Assert.Equal(ChangeOperation.Update, record.Op);
        Assert.Equal(SqlValue.FromInteger(5), record.New[1]);
    }

    /// <summary>Run with the session extension too: the harness itself must hold for the reference.</summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Random_transactions_replay_a_replica_to_the_same_content_without_conflicts(bool session)
    {
        using var source = Open("source.db");
        using var replica = Open("replica.db");
        // As the restore replays: no foreign-key actions, no triggers (their writes are in the changeset).
        replica.Execute("PRAGMA foreign_keys = OFF");
        Assert.Equal(0, SQLitePCL.raw.sqlite3_db_config(replica.Db, 1003 /* SQLITE_DBCONFIG_ENABLE_TRIGGER */, 0, out _));
        IChangeCapture capture = session ? SessionChangeCapture.Instance : new PreupdateChangeCapture();
        var random = new Random(20261122);
        var applied = 0;
        for (var transaction = 0; transaction < 300; transaction++)
        {
            source.Execute("BEGIN IMMEDIATE");
            byte[] changeset;
            using (var scope = capture.Begin(source, schemaChange: false))
            {
                var works = random.Next(1, 6);
                for (var w = 0; w < works; w++)
                {
                    var statements = string.Join(";\n", Enumerable.Range(0, random.Next(1, 4)).Select(_ => RandomStatement(random)));
                    RunWork(source, scope, statements, rollBack: random.Next(5) == 0);
                }

                changeset = scope.TakeChangeset()!;
            }

            source.Execute("COMMIT");
            if (changeset.Length == 0)
            {
                continue;
            }

            replica.Execute("BEGIN");
            ChangesetApplyResult result;
            try
            {
                result = Changeset.Apply(replica.Connection, changeset, ChangesetConflictPolicy.Strict);
            }
            catch (Microsoft.Data.Sqlite.SqliteException ex)
            {
                throw new InvalidOperationException($"transaction {transaction}: {ex.Message} applying\n{Describe(Changeset.Read(changeset))}\nreplica:\n{Dump(replica)}", ex);
            }

            replica.Execute("COMMIT");
            Assert.True(result.Total == 0, $"transaction {transaction}: {result.Total} conflicts applying {Describe(Changeset.Read(changeset))}");
            Assert.Equal(Dump(source), Dump(replica));
            applied++;
        }

        Assert.True(applied > 200, $"only {applied} transactions changed anything");
    }

    [Fact]
    public void Schema_changes_and_generated_columns_use_the_session_extension()
    {
        using var source = Open("source.db");
        var capture = new PreupdateChangeCapture();
        source.Execute("BEGIN IMMEDIATE");
        using (var ddl = capture.Begin(source, schemaChange: true))
        {
            Assert.StartsWith(typeof(SessionChangeCapture).FullName!, ddl.GetType().FullName!, StringComparison.Ordinal);
        }

        source.Execute("CREATE TABLE gen(a INTEGER PRIMARY KEY, b INTEGER, c INTEGER GENERATED ALWAYS AS (b * 2) VIRTUAL)");
        using (var scope = capture.Begin(source, schemaChange: false))
        {
            Assert.StartsWith(typeof(SessionChangeCapture).FullName!, scope.GetType().FullName!, StringComparison.Ordinal);
            source.Execute("INSERT INTO gen(a, b) VALUES (1, 2)");
            Assert.Single(Changeset.Read(scope.TakeChangeset()));
        }

        source.Execute("COMMIT");
    }

    private static void RunWork(ShardConnection connection, IChangeCaptureScope scope, string sql, bool rollBack)
    {
        connection.Execute("SAVEPOINT w");
        scope.WorkStarted();
        try
        {
            connection.Execute(sql);
        }
        catch (ShardException)
        {
            rollBack = true; // a failing statement fails its work, as in the writer
        }

        if (rollBack)
        {
            connection.Execute("ROLLBACK TO w");
            scope.WorkRolledBack();
        }

        connection.Execute("RELEASE w");
    }

    private static string RandomStatement(Random random)
    {
        string Text() => "'" + (char)('a' + random.Next(6)) + random.Next(4).ToString(CultureInfo.InvariantCulture) + "'";
        string Value() => random.Next(6) switch
        {
            0 => "NULL",
            1 => random.Next(-3, 30).ToString(CultureInfo.InvariantCulture),
            2 => (random.Next(100) / 4.0).ToString("0.0#", CultureInfo.InvariantCulture),
            3 => "x'" + Convert.ToHexString(new[] { (byte)random.Next(256), (byte)random.Next(256) }) + "'",
            _ => Text(),
        };
        var id = random.Next(1, 25);
        return random.Next(22) switch
        {
            0 => $"INSERT OR IGNORE INTO ipk VALUES ({id}, {Text()}, {Value()}, {Value()})",
            1 => $"INSERT OR REPLACE INTO ipk VALUES ({id}, {Text()}, {Value()}, {Value()})",
            2 => $"UPDATE ipk SET name = {Text()}, score = {Value()} WHERE id % 5 = {random.Next(5)}",
            3 => $"UPDATE OR IGNORE ipk SET id = id + {random.Next(1, 4)} WHERE id = {id}",
            4 => $"DELETE FROM ipk WHERE id = {id}",
            5 => $"INSERT INTO nopk VALUES ({Text()}, {Value()})",
            6 => $"UPDATE nopk SET b = {Value()} WHERE a = {Text()}",
            7 => $"DELETE FROM nopk WHERE rowid IN (SELECT rowid FROM nopk ORDER BY random() LIMIT 1)",
            8 => $"INSERT INTO textpk VALUES ({Text()}, {random.Next(9)}) ON CONFLICT(code) DO UPDATE SET qty = qty + excluded.qty",
            9 => $"UPDATE OR REPLACE textpk SET code = {Text()} WHERE code = {Text()}",
            10 => $"DELETE FROM textpk WHERE code = {Text()}",
            11 => $"INSERT OR REPLACE INTO composite VALUES ({random.Next(4)}, {Text()}, {Value()})",
            12 => $"UPDATE composite SET v = {Value()} WHERE x = {random.Next(4)}",
            13 => $"UPDATE OR IGNORE composite SET x = x + 1 WHERE y = {Text()}",
            14 => $"INSERT OR REPLACE INTO wr VALUES ({Text()}, {random.Next(12)}, {Value()})",
            15 => $"UPDATE OR IGNORE wr SET k = {Text()} WHERE n = {random.Next(12)}",
            16 => $"DELETE FROM wr WHERE n > {random.Next(12)}",
            17 => $"INSERT OR REPLACE INTO parent VALUES ({random.Next(1, 6)}, {Text()})",
            18 => $"INSERT INTO child(parent_id, v) SELECT id, {Text()} FROM parent WHERE id = {random.Next(1, 6)}",
            19 => $"DELETE FROM parent WHERE id = {random.Next(1, 6)}",
            20 => $"UPDATE OR IGNORE parent SET id = id + 10 WHERE id = {random.Next(1, 6)}",
            _ => $"INSERT INTO textpk VALUES ({Text()}, 1)", // fails on a duplicate: the work rolls back
        };
    }

    private ShardConnection Open(string file)
    {
        var connection = new ShardConnection(_dir.Combine(file), readOnly: false, planCacheSize: 16);
        connection.Execute("PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON;");
        foreach (var statement in Schema)
        {
            connection.Execute(statement);
        }

        connection.Execute("""
            INSERT INTO ipk VALUES (1, 'one', 1.0, NULL), (2, 'two', 2.5, x'02');
            INSERT INTO nopk VALUES ('a', 1), ('b', 2);
            INSERT INTO textpk VALUES ('c1', 1), ('c2', 2);
            INSERT INTO composite VALUES (1, 'p', 0.5), (2, 'p', 1.5);
            INSERT INTO wr VALUES ('w1', 1, 'x'), ('w2', 2, NULL);
            INSERT INTO parent VALUES (1, 'p1'), (2, 'p2');
            INSERT INTO child(parent_id, v) VALUES (1, 'c'), (2, 'd');
            """);
        return connection;
    }

    private static byte[] CaptureWith(IChangeCapture capture, ShardConnection connection, string sql)
    {
        connection.Execute("BEGIN IMMEDIATE");
        byte[] changeset;
        using (var scope = capture.Begin(connection, schemaChange: false))
        {
            connection.Execute("SAVEPOINT w");
            scope.WorkStarted();
            connection.Execute(sql);
            connection.Execute("RELEASE w");
            changeset = scope.TakeChangeset()!;
        }

        connection.Execute("COMMIT");
        return changeset;
    }

    private static string Describe(IEnumerable<ChangeRecord> records) => string.Join("\n", records
        .Select(r => $"{r.Table} {r.Op} old[{string.Join(",", r.Old.Select(Show))}] new[{string.Join(",", r.New.Select(Show))}]")
        .Order(StringComparer.Ordinal));

    private static string Show(SqlValue? value) => value is null ? "_" : value.Value.ToString() ?? "";

    private static string Dump(ShardConnection connection)
    {
        var dump = new StringBuilder();
        foreach (var (table, order) in new[]
        {
            ("ipk", "rowid"), ("nopk", "rowid"), ("textpk", "code"), ("composite", "y, x"), ("wr", "k"),
            ("parent", "rowid"), ("child", "rowid"), ("audit", "rowid"),
        })
        {
            dump.Append("# ").Append(table).Append('\n');
            var rowid = order == "rowid" ? "rowid, " : "";
            foreach (var row in connection.Query($"SELECT {rowid}*, typeof({order.Split(',')[0]}) FROM {table} ORDER BY {order}"))
            {
                dump.AppendJoin('|', row.Select(v => v.Kind + ":" + v)).Append('\n');
            }
        }

        return dump.ToString();
    }
}
