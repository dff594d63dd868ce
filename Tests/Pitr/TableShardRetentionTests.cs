using Microsoft.Data.Sqlite;
using OrleansShards.Grains.Pitr;
using OrleansShards.Tests.Infrastructure;

namespace OrleansShards.Tests.Pitr;

/// <summary>Retention of the change log and snapshots, on fake time.</summary>
public sealed class TableShardRetentionTests
{
    private const string Tenant = "acme";

    [Fact]
    public async Task RefreshCapacityAsync_prunes_outside_the_window_and_keeps_every_point_inside_it_restorable()
    {
        var time = new FakeTimeProvider();
        await using var host = await ShardTestHost.StartAsync(time: time, services: s => s.ConfigurePitr(o =>
        {
            o.RetentionPeriod = TimeSpan.FromDays(1);
            o.SnapshotEveryCommits = 5;
            o.SnapshotLogFraction = 0; // snapshots at known counts, whatever the bytes
            o.SnapshotInterval = TimeSpan.FromDays(365);
        }));
        var shard = host.Shard(Tenant, "items");
        var hashes = new Dictionary<long, string>();
        var snapshots = new SnapshotStore(Path.Combine(host.DataDirectory, Tenant, "items.snapshots"));
        List<long> early = [];
        var times = new Dictionary<long, long>();
        await shard.DdlAsync(new DdlRequest("CREATE TABLE items(id INTEGER PRIMARY KEY, v TEXT, n INTEGER)"));
        for (var i = 0; i < 48; i++)
        {
            time.Advance(TimeSpan.FromHours(1));
            var result = i % 3 == 2
                ? await shard.MutateAsync(new MutationRequest("UPDATE items SET n = n + 1 WHERE id % 2 = ?", [i % 2]))
                : await shard.MutateAsync(new MutationRequest("INSERT INTO items(v, n) VALUES (?, ?)", ["row" + i, i]));
            var seq = Bookmark.Parse(result.Bookmark).Sequence;
            hashes[seq] = await ShardContent.HashAsync(shard);
            times[seq] = time.GetUtcNow().ToUnixTimeMilliseconds();
            if (i % 5 == 4)
            {
                await shard.RefreshCapacityAsync(); // a deterministic point for the snapshot due by count
            }

            if (i == 14)
            {
                early = snapshots.List();
            }
        }

        var database = Path.Combine(host.DataDirectory, Tenant, "items.db");
        await shard.RefreshCapacityAsync();

        var windowStart = time.GetUtcNow().AddDays(-1).ToUnixTimeMilliseconds();
        var floor = times.Where(t => t.Value <= windowStart).Max(t => t.Key);
        var kept = snapshots.List();
        // Kept: the newest snapshot at or before the window start, and the log from it on; nothing older.
        Assert.NotEmpty(early);
        Assert.All(early, s => Assert.DoesNotContain(s, kept));
        Assert.True(kept[0] <= floor, $"the snapshot the window needs ({kept[0]}) is newer than the window start ({floor})");
        Assert.True(kept.Count == 1 || kept[1] > floor, "an older snapshot than needed was kept");
        Assert.Equal(kept[0], MinLogSequence(database));

        // Times and bookmarks before the window: NOT_FOUND with a clear message.
        var beforeWindow = await Assert.ThrowsAsync<ShardException>(() => shard.GetBookmarkAsync(new BookmarkRequest(windowStart - 1)));
        Assert.Equal(ShardErrorCode.NotFound, beforeWindow.Code);
        var old = await Assert.ThrowsAsync<ShardException>(() => shard.RestoreAsync(new RestoreRequest(new Bookmark(floor - 1, Tenant, "items").ToString())));
        Assert.Equal(ShardErrorCode.NotFound, old.Code);
        Assert.Contains("retention window", old.Message, StringComparison.Ordinal);
        Assert.Contains(new Bookmark(floor, Tenant, "items").ToString(), old.Message, StringComparison.Ordinal);

        // The window's start and every commit after it restore exactly.
        Assert.Equal(new Bookmark(floor, Tenant, "items").ToString(), (await shard.GetBookmarkAsync(new BookmarkRequest(windowStart))).Bookmark);
        var current = hashes.Keys.Max();
        foreach (var target in new[] { floor, floor + 1, (floor + current) / 2, current - 1 })
        {
            await shard.RestoreAsync(new RestoreRequest(new Bookmark(target, Tenant, "items").ToString()));
            Assert.True(hashes[target] == await ShardContent.HashAsync(shard), $"commit {target}");
        }
    }

    [Fact]
    public async Task GetBookmarkAsync_returns_the_newest_commit_at_or_before_the_time()
    {
        var time = new FakeTimeProvider();
        await using var host = await ShardTestHost.StartAsync(time: time);
        var shard = host.Shard(Tenant, "items");
        var start = time.GetUtcNow().ToUnixTimeMilliseconds();
        var ddl = await shard.DdlAsync(new DdlRequest("CREATE TABLE items(id INTEGER PRIMARY KEY)"));
        time.Advance(TimeSpan.FromMinutes(1));
        var insert = await shard.MutateAsync(new MutationRequest("INSERT INTO items DEFAULT VALUES"));

        Assert.Equal(new Bookmark(0, Tenant, "items").ToString(), (await shard.GetBookmarkAsync(new BookmarkRequest(start - 1))).Bookmark);
        Assert.Equal(ddl.Bookmark, (await shard.GetBookmarkAsync(new BookmarkRequest(start + 30_000))).Bookmark);
        Assert.Equal(insert.Bookmark, (await shard.GetBookmarkAsync(new BookmarkRequest(start + 60_000))).Bookmark);
        Assert.Equal(insert.Bookmark, (await shard.GetBookmarkAsync(new BookmarkRequest())).Bookmark);
    }

    private static long MinLogSequence(string database)
    {
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = database, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT min(seq) FROM _changes";
        return (long)command.ExecuteScalar()!;
    }
}
