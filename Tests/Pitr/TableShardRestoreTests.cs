using Microsoft.Extensions.DependencyInjection;
using OrleansShards.Grains.Pitr;
using OrleansShards.Tests.Infrastructure;

namespace OrleansShards.Tests.Pitr;

/// <summary>Restore of <see cref="ITableShard"/> against a recorded random workload.</summary>
public sealed class TableShardRestoreTests
{
    private const string Tenant = "acme";

    // By count alone (no log fraction): these tests restore across snapshots taken at known counts.
    private static Task<ShardTestHost> StartAsync(int snapshotEvery, string? dataDirectory = null, TimeProvider? time = null) =>
        ShardTestHost.StartAsync(dataDirectory: dataDirectory, time: time, services: s => s.ConfigurePitr(o =>
        {
            o.SnapshotEveryCommits = snapshotEvery;
            o.SnapshotLogFraction = 0;
        }));

    [Fact]
    public async Task RestoreAsync_reproduces_the_recorded_state_when_random_bookmarks_of_a_random_workload()
    {
        await using var host = await StartAsync(snapshotEvery: 40);
        var shard = host.Shard(Tenant, "items");
        var workload = new RandomWorkload(shard, seed: 4242, "items");
        await workload.SetupAsync();
        await workload.RunAsync(160);
        await shard.RefreshCapacityAsync();
        Assert.NotEmpty(Directory.GetFiles(Path.Combine(host.DataDirectory, Tenant, "items.snapshots"), "*.db"));

        var random = new Random(7);
        var recorded = workload.States.Keys.Order().ToList();
        for (var i = 0; i < 24; i++)
        {
            // Sometimes the empty initial state, sometimes a restore commit made by an earlier iteration.
            var before = workload.Sequence;
            var candidates = recorded.Where(s => s != before).ToList();
            var target = i == 0 ? 0 : candidates[random.Next(candidates.Count)];
            var result = await shard.RestoreAsync(new RestoreRequest(new Bookmark(target, Tenant, "items").ToString()));

            Assert.Equal(new Bookmark(target, Tenant, "items").ToString(), result.RestoredTo);
            Assert.Equal(new Bookmark(before, Tenant, "items").ToString(), result.UndoBookmark);
            Assert.Equal(workload.States[target], await ShardContent.DumpAsync(shard));
            await workload.RecordAsync();
            Assert.Equal(before + 1, workload.Sequence);
            recorded.Add(workload.Sequence);

            // Writes continue on top of the restored state (when its tables exist), with increasing bookmarks.
            if (target >= workload.SetupSequence)
            {
                await workload.RunAsync(3);
            }

            recorded.AddRange(workload.States.Keys.Where(k => k > before + 1 && !recorded.Contains(k)));
        }
    }

    [Fact]
    public async Task RestoreAsync_then_undo_returns_exactly_the_state_before_the_restore()
    {
        await using var host = await StartAsync(snapshotEvery: 15);
        var shard = host.Shard(Tenant, "items");
        var workload = new RandomWorkload(shard, seed: 99, "items");
        await workload.SetupAsync();
        await workload.RunAsync(50);
        var beforeState = await ShardContent.DumpAsync(shard);

        var target = workload.States.Keys.Where(k => k >= 12).Min();
        var restored = await shard.RestoreAsync(new RestoreRequest(new Bookmark(target, Tenant, "items").ToString()));
        Assert.Equal(workload.States[target], await ShardContent.DumpAsync(shard));

        var undone = await shard.RestoreAsync(new RestoreRequest(restored.UndoBookmark));
        Assert.Equal(restored.UndoBookmark, undone.RestoredTo);
        Assert.Equal(beforeState, await ShardContent.DumpAsync(shard));

        // Undo of the undo: back to the restored state again.
        await shard.RestoreAsync(new RestoreRequest(undone.UndoBookmark));
        Assert.Equal(workload.States[target], await ShardContent.DumpAsync(shard));
    }

    [Fact]
    public async Task RestoreAsync_is_exact_across_snapshot_boundaries_and_when_a_restore_snapshot_is_missing()
    {
        await using var host = await StartAsync(snapshotEvery: 10);
        var shard = host.Shard(Tenant, "items");
        var workload = new RandomWorkload(shard, seed: 5, "items");
        await workload.SetupAsync();
        await workload.RunAsync(70);
        await shard.RefreshCapacityAsync();
        var snapshotDir = Path.Combine(host.DataDirectory, Tenant, "items.snapshots");
        var snapshots = new SnapshotStore(snapshotDir).List();
        Assert.True(snapshots.Count >= 2, $"expected several snapshots, found {snapshots.Count}");

        // Exactly at a snapshot, just after one, just before the next. A concurrent burst may split into several
        // commits (how group commit coalesces it depends on timing), and only the state after each workload step
        // is recorded: each kind of target is the first snapshot boundary whose state is known.
        long Boundary(Func<long, long> target) => snapshots.Select(target).First(workload.States.ContainsKey);
        var targets = new[] { Boundary(s => s), Boundary(s => s + 1), snapshots.Skip(1).Select(s => s - 1).First(workload.States.ContainsKey), snapshots.Last(workload.States.ContainsKey) };
        foreach (var target in targets)
        {
            await shard.RestoreAsync(new RestoreRequest(new Bookmark(target, Tenant, "items").ToString()));
            Assert.True(workload.States[target] == await ShardContent.DumpAsync(shard), $"commit {target}");
            await workload.RecordAsync();
        }

        // Restore far back, write, then lose the snapshot that restore wrote: rebuilding a commit after it
        // must walk through the restore entry (state = its target) and replay what followed.
        var restoreResult = await shard.RestoreAsync(new RestoreRequest(new Bookmark(workload.SetupSequence, Tenant, "items").ToString()));
        await workload.RecordAsync();
        var restoreCommit = workload.Sequence;
        await workload.RunAsync(4);
        var later = workload.Sequence;
        File.Delete(new SnapshotStore(snapshotDir).PathOf(restoreCommit));
        await workload.RunAsync(2);

        await shard.RestoreAsync(new RestoreRequest(new Bookmark(later, Tenant, "items").ToString()));
        Assert.Equal(workload.States[later], await ShardContent.DumpAsync(shard));
        await shard.RestoreAsync(new RestoreRequest(restoreResult.UndoBookmark));
        Assert.Equal(workload.States[restoreCommit - 1], await ShardContent.DumpAsync(shard));
    }

    [Fact]
    public async Task RestoreAsync_is_exact_when_a_compacted_snapshot_holds_a_rowid_table_with_deleted_rows()
    {
        // Regression (replay diverged under group commit): a snapshot compacted with a plain VACUUM renumbered the
        // rowids of a table without INTEGER PRIMARY KEY, and the logged changes that follow address rows by rowid.
        await using var host = await StartAsync(snapshotEvery: 1000);
        var shard = host.Shard(Tenant, "items");
        await shard.DdlAsync(new DdlRequest("CREATE TABLE notes(body TEXT, n INTEGER)"));
        await shard.DdlAsync(new DdlRequest("CREATE TABLE blobs(id INTEGER PRIMARY KEY, b BLOB)"));
        await shard.MutateAsync(new MutationRequest("INSERT INTO notes VALUES ('a', 1), ('b', 2), ('c', 3)"));
        await shard.MutateAsync(new MutationRequest("DELETE FROM notes WHERE rowid = 2"));
        for (var i = 0; i < 4; i++)
        {
            // The log grows by the blobs while the data does not: the snapshot's stripped log is mostly free pages.
            await shard.MutateAsync(new MutationRequest("INSERT INTO blobs(id, b) VALUES (1, randomblob(500000))"));
            await shard.MutateAsync(new MutationRequest("DELETE FROM blobs"));
        }

        // CREATE TABLE … AS SELECT takes a snapshot at its own commit: replays after it start there.
        await shard.DdlAsync(new DdlRequest("CREATE TABLE copy AS SELECT 1 AS x"));
        var update = await shard.MutateAsync(new MutationRequest("UPDATE notes SET n = n * 10 WHERE rowid = 3"));
        var expected = await ShardContent.DumpAsync(shard);
        Assert.Contains("i:3|t:c|i:30|", expected, StringComparison.Ordinal);
        await shard.MutateAsync(new MutationRequest("DELETE FROM notes"));

        await shard.RestoreAsync(new RestoreRequest(update.Bookmark!));

        Assert.Equal(expected, await ShardContent.DumpAsync(shard));
    }

    [Theory]
    [InlineData("not-a-bookmark")]
    [InlineData("")]
    [InlineData("000000000000000g.acme.items")]
    [InlineData("0000000000000001.acme.other")]
    [InlineData("0000000000000001.other.items")]
    [InlineData("0000000000000001.acme.items.extra")]
    public async Task RestoreAsync_rejects_malformed_and_other_shard_bookmarks_with_invalid_argument(string bookmark)
    {
        await using var host = await StartAsync(snapshotEvery: 100);
        var shard = host.Shard(Tenant, "items");
        await shard.DdlAsync(new DdlRequest("CREATE TABLE items(id INTEGER PRIMARY KEY)"));

        var error = await Assert.ThrowsAsync<ShardException>(() => shard.RestoreAsync(new RestoreRequest(bookmark)));
        Assert.Equal(ShardErrorCode.InvalidArgument, error.Code);
    }

    [Fact]
    public async Task RestoreAsync_reports_not_found_when_the_bookmark_is_ahead_of_the_newest_commit()
    {
        await using var host = await StartAsync(snapshotEvery: 100);
        var shard = host.Shard(Tenant, "items");
        await shard.DdlAsync(new DdlRequest("CREATE TABLE items(id INTEGER PRIMARY KEY)"));

        var error = await Assert.ThrowsAsync<ShardException>(() => shard.RestoreAsync(new RestoreRequest(new Bookmark(9, Tenant, "items").ToString())));
        Assert.Equal(ShardErrorCode.NotFound, error.Code);
        Assert.Contains("newest commit is 1", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Commit_fails_with_tx_not_found_naming_the_restore_when_a_restore_aborted_the_transaction()
    {
        await using var host = await StartAsync(snapshotEvery: 100);
        var shard = host.Shard(Tenant, "items");
        var ddl = await shard.DdlAsync(new DdlRequest("CREATE TABLE items(id INTEGER PRIMARY KEY, v TEXT)"));
        await shard.MutateAsync(new MutationRequest("INSERT INTO items(v) VALUES ('a')"));
        var begin = await shard.TransactionAsync(new TransactionRequest(TransactionOperation.Begin));
        await shard.MutateAsync(new MutationRequest("INSERT INTO items(v) VALUES ('in tx')", TransactionId: begin.TransactionId));

        await shard.RestoreAsync(new RestoreRequest(ddl.Bookmark!));

        var error = await Assert.ThrowsAsync<ShardException>(() =>
            shard.TransactionAsync(new TransactionRequest(TransactionOperation.Commit, begin.TransactionId)));
        Assert.Equal(ShardErrorCode.TxNotFound, error.Code);
        Assert.Contains("restore", error.Message, StringComparison.Ordinal);
        var rows = await shard.QueryAsync(new QueryRequest("SELECT count(*) FROM items"));
        Assert.Equal(0, rows.Rows[0][0].AsInteger);
    }

    [Fact]
    public async Task Restore_state_survives_deactivation_and_bookmarks_keep_increasing()
    {
        using var dir = new TempDirectory("pitr");
        string expected;
        string bookmarkAfterRestore;
        await using (var host = await StartAsync(snapshotEvery: 100, dataDirectory: dir.Path))
        {
            var shard = host.Shard(Tenant, "items");
            await shard.DdlAsync(new DdlRequest("CREATE TABLE items(id INTEGER PRIMARY KEY, v TEXT)"));
            var first = await shard.MutateAsync(new MutationRequest("INSERT INTO items(v) VALUES ('a')"));
            await shard.MutateAsync(new MutationRequest("INSERT INTO items(v) VALUES ('b')"));
            await shard.RestoreAsync(new RestoreRequest(first.Bookmark!));
            var next = await shard.MutateAsync(new MutationRequest("INSERT INTO items(v) VALUES ('c')"));
            Assert.Equal(5, Bookmark.Parse(next.Bookmark).Sequence);
            bookmarkAfterRestore = next.Bookmark!;
            expected = await ShardContent.DumpAsync(shard);
        }

        await using (var host = await StartAsync(snapshotEvery: 100, dataDirectory: dir.Path))
        {
            var shard = host.Shard(Tenant, "items");
            Assert.Equal(expected, await ShardContent.DumpAsync(shard));
            Assert.Equal(bookmarkAfterRestore, (await shard.GetBookmarkAsync(new BookmarkRequest())).Bookmark);
            Assert.Contains("t:a|", expected, StringComparison.Ordinal);
            Assert.DoesNotContain("t:b|", expected, StringComparison.Ordinal);
        }
    }
}
