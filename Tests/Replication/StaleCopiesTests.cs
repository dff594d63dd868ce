using Microsoft.Data.Sqlite;
using OrleansShards.Grains.Cluster;
using OrleansShards.Grains.Replication;
using OrleansShards.Tests.Infrastructure;

namespace OrleansShards.Tests.Replication;

/// <summary>
/// A silo starting moves aside the copies the ownership map has left behind (a replica replaced while its silo was away,
/// a dropped partition) — and only those: a copy the map does not prove stale stays.
/// </summary>
public sealed class StaleCopiesTests
{
    private const string Self = "s1";

    private static void Copy(TempDirectory data, string table, long epoch, long? fence = null, bool snapshots = false)
    {
        var directory = Path.Combine(data.Path, "acme");
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, table + ".db");
        using (var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString()))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = $"CREATE TABLE _meta(key TEXT PRIMARY KEY, value); INSERT INTO _meta VALUES ('epoch', {epoch}); CREATE TABLE \"{table}\"(id INTEGER PRIMARY KEY)";
            command.ExecuteNonQuery();
        }

        if (fence is { } f)
        {
            File.WriteAllText(path + ".fence", f.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        if (snapshots)
        {
            Directory.CreateDirectory(Path.Combine(directory, table + ".snapshots"));
            File.WriteAllBytes(Path.Combine(directory, table + ".snapshots", "1.db"), [1]);
        }
    }

    private static bool Exists(TempDirectory data, string table) => File.Exists(Path.Combine(data.Path, "acme", table + ".db"));

    [Fact]
    public async Task Only_copies_the_map_proves_stale_are_moved_aside_and_deleted_after_seven_days()
    {
        using var data = new TempDirectory("stale-copies");
        var map = new LocalShardOwnership();

        // Replaced while away: the entry (epoch 6) names other silos only; the copy saw epoch 3.
        Copy(data, "replaced", 3, snapshots: true);
        await map.ClaimAsync("acme:replaced", "s2", 5);
        await map.SetReplicasAsync("acme:replaced", "s2", 6, ["s3"]);

        // Still a replica here, or the primary here: kept.
        Copy(data, "replica", 3);
        await map.ClaimAsync("acme:replica", "s2", 5);
        await map.SetReplicasAsync("acme:replica", "s2", 6, [Self]);
        Copy(data, "primary", 3);
        await map.ClaimAsync("acme:primary", Self, 5);

        // Not in the map at all (a Redis that lost its data): kept.
        Copy(data, "unknown", 3);

        // Replaced at the same epoch (a replacement does not raise it): deleted.
        Copy(data, "same_epoch", 6);
        await map.ClaimAsync("acme:same_epoch", "s2", 5);

        // The copy has seen a newer epoch than the map's (its file, or its fence: a map that went back): kept.
        Copy(data, "newer", 7);
        await map.ClaimAsync("acme:newer", "s2", 5);
        Copy(data, "fenced", 1, fence: 7);
        await map.ClaimAsync("acme:fenced", "s2", 5);

        // Dropped at epoch 4 while this silo was away: the copy (epoch 4) goes; one from a later epoch stays.
        Copy(data, "dropped", 4);
        await map.ClaimAsync("acme:dropped", "s2", 3);
        await map.ReleaseAsync("acme:dropped", "s2", 4);
        Copy(data, "dropped_later", 9);
        await map.ClaimAsync("acme:dropped_later", "s2", 3);
        await map.ReleaseAsync("acme:dropped_later", "s2", 4);

        // Not a shard file: kept.
        File.WriteAllText(Path.Combine(data.Path, "acme", "junk.db"), "not sqlite");

        // The entry's primary is not an active member (gone, or this silo came back under another name): kept.
        Copy(data, "orphaned", 3);
        await map.ClaimAsync("acme:orphaned", "gone", 5);

        var now = new DateTimeOffset(2026, 12, 4, 12, 0, 0, TimeSpan.Zero);
        var moved = await StaleCopies.SweepAsync(map, Self, new HashSet<string> { Self, "s2", "s3" }, data.Path, now);

        Assert.Equal(["acme:dropped", "acme:replaced", "acme:same_epoch"], moved.Order(StringComparer.Ordinal));
        Assert.False(Exists(data, "same_epoch"));
        Assert.False(Exists(data, "replaced"));
        Assert.False(Directory.Exists(Path.Combine(data.Path, "acme", "replaced.snapshots")));
        Assert.False(Exists(data, "dropped"));
        foreach (var kept in new[] { "replica", "primary", "unknown", "newer", "fenced", "dropped_later", "junk", "orphaned" })
        {
            Assert.True(Exists(data, kept), kept + " was moved");
        }

        // Moved aside, not deleted: the files and snapshots are in the quarantine folder of this sweep.
        var folder = Assert.Single(Directory.GetDirectories(StaleCopies.QuarantineDirectory(data.Path)));
        Assert.True(File.Exists(Path.Combine(folder, "acme", "replaced.db")));
        Assert.True(File.Exists(Path.Combine(folder, "acme", "replaced.snapshots", "1.db")));
        Assert.True(File.Exists(Path.Combine(folder, "acme", "dropped.db")));

        // A sweep more than 7 days later deletes that folder; one within them keeps it.
        await StaleCopies.SweepAsync(map, Self, new HashSet<string> { Self }, data.Path, now.AddDays(6));
        Assert.True(Directory.Exists(folder));
        await StaleCopies.SweepAsync(map, Self, new HashSet<string> { Self }, data.Path, now.AddDays(8));
        Assert.False(Directory.Exists(folder));
    }

    [Fact]
    public async Task A_dropped_shard_created_again_continues_above_the_dropped_epoch()
    {
        var map = new LocalShardOwnership();
        var first = await map.ClaimAsync("acme:t", "s2", 0);
        await map.ReleaseAsync("acme:t", "s2", first.Epoch);
        Assert.Equal(first.Epoch, (await map.DroppedAsync())["acme:t"]);

        var again = await map.ClaimAsync("acme:t", "s1", 0);
        Assert.True(again.Epoch > first.Epoch);
        Assert.Empty(await map.DroppedAsync());
    }
}
