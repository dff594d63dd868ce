using OrleansShards.Grains.Pitr;
using OrleansShards.Grains.Storage;
using OrleansShards.Tests.Infrastructure;

namespace OrleansShards.Tests.Storage;

/// <summary>The internal schema's v3 migration and the change-log reads that replace the <c>at_ms</c> index and the per-commit <c>commit:seq</c>.</summary>
public sealed class ShardSchemaTests
{
    [Fact]
    public void Migrate_from_v2_drops_the_at_index_and_pins_commit_seq_to_the_newest_log_row()
    {
        using var dir = new TempDirectory("schema");
        var database = dir.Combine("items.db");
        using (var v2 = new ShardConnection(database, readOnly: false, planCacheSize: 4))
        {
            // A file as engine v2 left it: the at_ms index, and commit:seq written per commit.
            v2.Execute("""
                CREATE TABLE _meta(key TEXT PRIMARY KEY, value) WITHOUT ROWID;
                CREATE TABLE _changes(seq INTEGER PRIMARY KEY, at_ms INTEGER NOT NULL, kind INTEGER NOT NULL, changeset BLOB, ddl TEXT, restored_to INTEGER);
                CREATE INDEX _changes_at ON _changes(at_ms);
                CREATE TABLE _outbox(seq INTEGER PRIMARY KEY, payload BLOB NOT NULL);
                CREATE TABLE _idempotency(key TEXT PRIMARY KEY, at_ms INTEGER NOT NULL, outcome TEXT NOT NULL) WITHOUT ROWID;
                CREATE INDEX _idempotency_at ON _idempotency(at_ms);
                CREATE TABLE _events(id INTEGER PRIMARY KEY, at_ms INTEGER NOT NULL, type TEXT NOT NULL, correlation_id TEXT, payload TEXT);
                INSERT INTO _changes(seq, at_ms, kind) VALUES (4, 100, 0), (5, 200, 0), (6, 300, 0);
                INSERT INTO _meta(key, value) VALUES ('commit:seq', 6);
                PRAGMA user_version = 2;
                """);
        }

        using var file = new ShardConnection(database, readOnly: false, planCacheSize: 4);
        ShardSchema.Migrate(file);

        Assert.Equal(ShardSchema.CurrentVersion, file.ExecuteScalar("PRAGMA user_version"));
        Assert.Equal(0, file.ExecuteScalar("SELECT count(*) FROM sqlite_schema WHERE name = '_changes_at'"));

        // v4: entries written before replication carry epoch 0.
        Assert.Equal(3, file.ExecuteScalar("SELECT count(*) FROM _changes WHERE epoch = 0"));
        Assert.Equal(6, file.ExecuteScalar("SELECT value FROM _meta WHERE key = 'commit:seq'"));
        Assert.Equal(6, ChangeLog.CurrentSequence(file));
    }

    [Fact]
    public void CurrentSequence_is_the_newest_log_row_or_commit_seq_when_that_is_higher()
    {
        using var dir = new TempDirectory("schema");
        using var file = new ShardConnection(dir.Combine("items.db"), readOnly: false, planCacheSize: 4);
        ShardSchema.Migrate(file);
        Assert.Equal(0, ChangeLog.CurrentSequence(file));

        file.Execute("INSERT INTO _changes(seq, at_ms, kind) VALUES (1, 10, 0), (2, 20, 0)");
        Assert.Equal(2, ChangeLog.CurrentSequence(file));

        // A restored or snapshot file names its state in _meta; the log may hold less.
        file.ExecuteInternal("UPDATE _meta SET value = 9 WHERE key = 'commit:seq'");
        Assert.Equal(9, ChangeLog.CurrentSequence(file));
    }

    [Theory]
    [InlineData(5, null)]
    [InlineData(10, 1L)]
    [InlineData(25, 2L)]
    [InlineData(30, 7L)]
    [InlineData(35, 7L)]
    [InlineData(40, 9L)]
    [InlineData(41, 20L)]
    [InlineData(1_000, 20L)]
    public void LatestAtOrBefore_finds_the_newest_seq_at_or_before_a_time_across_gaps_and_equal_times(long atMs, long? expected)
    {
        using var dir = new TempDirectory("schema");
        using var file = new ShardConnection(dir.Combine("items.db"), readOnly: false, planCacheSize: 4);
        ShardSchema.Migrate(file);

        // Gaps in seq (pruned or never used) and repeated times (the writer repeats the last time when the clock steps back).
        file.Execute("""
            INSERT INTO _changes(seq, at_ms, kind) VALUES
                (1, 10, 0), (2, 20, 0), (5, 30, 0), (6, 30, 0), (7, 30, 0), (9, 40, 0), (15, 41, 0), (20, 41, 0)
            """);

        Assert.Equal(expected, ChangeLog.LatestAtOrBefore(file, atMs));
    }

    [Fact]
    public void LatestAtOrBefore_is_null_on_an_empty_log()
    {
        using var dir = new TempDirectory("schema");
        using var file = new ShardConnection(dir.Combine("items.db"), readOnly: false, planCacheSize: 4);
        ShardSchema.Migrate(file);
        Assert.Null(ChangeLog.LatestAtOrBefore(file, long.MaxValue));
    }
}
