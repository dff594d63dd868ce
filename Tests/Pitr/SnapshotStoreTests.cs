using OrleansShards.Grains.Pitr;
using OrleansShards.Grains.Storage;
using OrleansShards.Tests.Infrastructure;

namespace OrleansShards.Tests.Pitr;

/// <summary>Snapshots written by <see cref="SnapshotStore"/>.</summary>
public sealed class SnapshotStoreTests
{
    /// <summary>
    /// Regression: the snapshot was compacted with a plain VACUUM once the stripped change log left a large free
    /// list, and VACUUM renumbers the rowids of tables without an INTEGER PRIMARY KEY. The log addresses those rows
    /// by rowid, so replay on such a snapshot hit the wrong rows ("Replay diverged … Data = 1").
    /// </summary>
    [Fact]
    public void WriteFromDatabase_keeps_rowids_of_tables_without_integer_primary_key_when_it_compacts_the_snapshot()
    {
        using var dir = new TempDirectory("snapshots");
        var database = dir.Combine("items.db");
        using (var shard = new ShardConnection(database, readOnly: false, planCacheSize: 4))
        {
            ShardSchema.Migrate(shard);
            shard.Execute("CREATE TABLE notes(body TEXT, n INTEGER)");
            shard.Execute("INSERT INTO notes VALUES ('a', 1), ('b', 2), ('c', 3), ('d', 4)");
            shard.Execute("DELETE FROM notes WHERE rowid = 2");

            // A change log much larger than the data: stripping it leaves most pages free.
            shard.Execute("""
                WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 64)
                INSERT INTO _changes(seq, at_ms, kind, changeset) SELECT i, 0, 0, randomblob(16000) FROM s
                """);
            shard.ExecuteInternal("UPDATE _meta SET value = 64 WHERE key = 'commit:seq'");
        }

        var store = new SnapshotStore(dir.Combine("items.snapshots"));
        Assert.Equal(64, store.WriteFromDatabase(database));

        using var snapshot = new ShardConnection(store.PathOf(64), readOnly: true, planCacheSize: 4);
        Assert.True(new FileInfo(store.PathOf(64)).Length * 4 < new FileInfo(database).Length, "the snapshot was not compacted");
        var rows = snapshot.Query("SELECT rowid, body FROM notes ORDER BY rowid").Select(r => (r[0].AsInteger, r[1].AsText));
        Assert.Equal([(1L, "a"), (3L, "c"), (4L, "d")], rows);
        Assert.Empty(Directory.GetFiles(store.Directory, ".tmp-*"));
    }

    /// <summary>A retired copy (its shard moved away) abandons its snapshot: the copy is interrupted and nothing is published.</summary>
    [Fact]
    public void WriteFromDatabase_is_interrupted_by_its_token_and_publishes_nothing()
    {
        using var dir = new TempDirectory("snapshots");
        var database = dir.Combine("items.db");
        using (var shard = new ShardConnection(database, readOnly: false, planCacheSize: 4))
        {
            ShardSchema.Migrate(shard);
            shard.Execute("CREATE TABLE blobs(b BLOB)");
            shard.Execute("WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 2000) INSERT INTO blobs SELECT randomblob(2000) FROM s");
            shard.ExecuteInternal("UPDATE _meta SET value = 7 WHERE key = 'commit:seq'");
        }

        var store = new SnapshotStore(dir.Combine("items.snapshots"));
        using var abandon = new CancellationTokenSource();
        abandon.Cancel();
        var error = Assert.ThrowsAny<Exception>(() => store.WriteFromDatabase(database, abandon.Token));
        Assert.Contains("canceled", error.Message, StringComparison.OrdinalIgnoreCase);
        Assert.False(File.Exists(store.PathOf(7)));
        Assert.Empty(Directory.GetFiles(store.Directory, ".tmp-*"));

        // Not canceled, the same copy is published.
        Assert.Equal(7, store.WriteFromDatabase(database));
        Assert.True(File.Exists(store.PathOf(7)));
    }
}
