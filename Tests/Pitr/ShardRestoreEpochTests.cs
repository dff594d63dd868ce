using Microsoft.Extensions.Logging.Abstractions;
using OrleansShards.Grains.Hosting;
using OrleansShards.Grains.Pitr;
using OrleansShards.Grains.Storage;
using OrleansShards.Grains.Writes;
using OrleansShards.Tests.Infrastructure;

namespace OrleansShards.Tests.Pitr;

/// <summary>
/// A restore's change-log entry carries the epoch of the primary that restored, like every entry: a promotion ranks
/// copies by their newest entry's epoch, so a 0 there ranked a copy holding an acknowledged restore below a copy
/// without it.
/// </summary>
public sealed class ShardRestoreEpochTests
{
    [Fact]
    public async Task The_restore_entry_carries_the_restoring_primarys_epoch()
    {
        using var dir = new TempDirectory("restore-epoch");
        var paths = new ShardPaths(dir.Path, "acme", "items");
        Directory.CreateDirectory(paths.TenantDirectory);
        using (var connection = new ShardConnection(paths.Database, readOnly: false, planCacheSize: 16))
        {
            connection.Execute("PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON;");
            ShardSchema.Migrate(connection);
            await using var writer = new ShardWriter(connection, new TableShardOptions(), TimeProvider.System, NullLogger.Instance, new PreupdateChangeCapture()) { Epoch = 7 };
            await writer.EnqueueAsync(new WriteWork(WriteKind.Ddl, [new Statement("CREATE TABLE items(id INTEGER PRIMARY KEY, v TEXT)")]));
            await writer.EnqueueAsync(new WriteWork(WriteKind.Mutation, [new Statement("INSERT INTO items VALUES (1, 'a')")]));
            await writer.EnqueueAsync(new WriteWork(WriteKind.Mutation, [new Statement("INSERT INTO items VALUES (2, 'b')")]));
            Assert.Equal(3, writer.Sequence);
        }

        var restore = new ShardRestore(paths, new SnapshotStore(paths.Snapshots), observer: null);
        restore.Prepare(target: 2, newSequence: 4, atMs: 1_000, epoch: 7);
        restore.Swap(newSequence: 4, target: 2);

        using var restored = new ShardConnection(paths.Database, readOnly: false, planCacheSize: 16);
        Assert.Equal(1, restored.ExecuteScalar("SELECT count(*) FROM items"));
        var entry = restored.Query("SELECT kind, epoch, restored_to FROM _changes WHERE seq = 4").Single();
        Assert.Equal((long)ChangeKind.Restore, entry[0].AsInteger);
        Assert.Equal(7, entry[1].AsInteger);
        Assert.Equal(2, entry[2].AsInteger);
    }
}
