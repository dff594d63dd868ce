using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using OrleansShards.Grains.Cluster;
using OrleansShards.Grains.Pitr;
using OrleansShards.Grains.Replication;
using OrleansShards.Grains.Storage;
using OrleansShards.Tests.Infrastructure;
using OrleansShards.Tests.TableShards;

namespace OrleansShards.Tests.Replication;

/// <summary>
/// A replica keeps its copy as a primary keeps its file: snapshots on the same schedule, its change log and snapshots
/// pruned outside the retention window, expired idempotency keys deleted — by its own timer, which never opens a copy.
/// Without it a replica's log and keys grew for as long as it lived.
/// </summary>
public sealed class ReplicaUpkeepTests
{
    private const string Tenant = "upkeep";

    [Fact]
    public async Task A_replica_snapshots_prunes_its_log_outside_the_window_and_forgets_expired_keys()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 12, 4, 12, 0, 0, TimeSpan.Zero));
        await using var host = await ShardTestHost.StartAsync(
            o =>
            {
                o.IdempotencyWindow = TimeSpan.FromMinutes(10);
                o.CapacityCheckPeriod = TimeSpan.FromMilliseconds(200);
            },
            time: time,
            services: s => s.ConfigurePitr(o =>
            {
                o.SnapshotEveryCommits = 3;
                o.SnapshotLogFraction = 0;
                o.SnapshotInterval = TimeSpan.FromDays(365);
                o.RetentionPeriod = TimeSpan.FromHours(1);
            }));

        // The primary's commits: a table and five keyed inserts.
        var source = host.Shard(Tenant, "source");
        await source.DdlAsync(new DdlRequest("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)"));
        for (var i = 1; i <= 5; i++)
        {
            await source.MutateAsync(new MutationRequest("INSERT INTO t(v) VALUES (?)", ["a" + i], IdempotencyKey: "old-" + i));
        }

        // The copy of it on this silo's replica grain, fenced at epoch 1 and fed the primary's log and keys.
        var self = host.Services.GetRequiredService<ClusterView>().SelfName;
        var copyPath = Path.Combine(host.DataDirectory, Tenant, "copy.db");
        File.WriteAllBytes(copyPath, []);
        var replica = host.Grains.GetGrain<IShardReplica>(ShardReplicaGrain.KeyOf(self, ShardName.Format(Tenant, "copy")));
        Assert.True((await replica.FenceAsync(1)).Exists);

        var (first, firstKeys) = ReadSource(host, afterSeq: 0);
        var applied = await replica.ApplyAsync(new ReplicaBatch(1, first, firstKeys, null));
        Assert.Equal(ReplicaApplyOutcome.Applied, applied.Outcome);
        var snapshotSeq = first[^1].Seq;

        // Due by count (three commits or more): a snapshot of the copy at its newest sequence, taken in the background.
        var snapshots = new SnapshotStore(Path.Combine(host.DataDirectory, Tenant, "copy.snapshots"));
        await Eventually.TrueAsync(() => snapshots.List().SequenceEqual([snapshotSeq]), "the replica's snapshot", TimeSpan.FromSeconds(20));

        // Everything is still inside the window: nothing is pruned, every key is kept.
        var kept = await replica.MaintainAsync();
        Assert.NotNull(kept);
        Assert.Equal(snapshotSeq, kept.Sequence);
        Assert.Equal(1, kept.OldestLogged);
        Assert.Equal(5, Count(copyPath, "_idempotency"));

        // Two hours on, two more commits: the window (one hour) now starts after the snapshot, so the log before it goes;
        // keys older than ten minutes go.
        time.Advance(TimeSpan.FromHours(2));
        for (var i = 1; i <= 2; i++)
        {
            await source.MutateAsync(new MutationRequest("INSERT INTO t(v) VALUES (?)", ["b" + i], IdempotencyKey: "new-" + i));
        }

        var (second, secondKeys) = ReadSource(host, afterSeq: snapshotSeq);
        Assert.Equal(ReplicaApplyOutcome.Applied, (await replica.ApplyAsync(new ReplicaBatch(1, second, secondKeys, null))).Outcome);

        // The replica's own timer does it.
        await Eventually.TrueAsync(() => OldestLogged(copyPath) == snapshotSeq, "the replica's timer to prune its log", TimeSpan.FromSeconds(20));
        await Eventually.TrueAsync(() => Count(copyPath, "_idempotency") == 2, "the replica's timer to delete expired keys", TimeSpan.FromSeconds(20));
        Assert.Equal(["new-1", "new-2"], Keys(copyPath));

        var upkeep = await replica.MaintainAsync();
        Assert.NotNull(upkeep);
        Assert.Equal(second[^1].Seq, upkeep.Sequence);
        Assert.Equal(snapshotSeq, upkeep.OldestLogged);
        Assert.Equal([snapshotSeq], upkeep.Snapshots);

        // The copy still equals the primary; a tail before the pruned point cannot be shipped entry by entry (a copy that
        // far behind is seeded), after it it can.
        Assert.Equal(Rows(Path.Combine(host.DataDirectory, Tenant, "source.db")), Rows(copyPath));
        Assert.Null(await replica.ReadTailAsync(1, 100));
        Assert.Equal(second.Select(e => e.Seq), (await replica.ReadTailAsync(snapshotSeq, 100))!.Select(e => e.Seq));
    }

    [Fact]
    public async Task Upkeep_never_opens_a_closed_copy()
    {
        await using var host = await ShardTestHost.StartAsync();
        var self = host.Services.GetRequiredService<ClusterView>().SelfName;
        Directory.CreateDirectory(Path.Combine(host.DataDirectory, Tenant));
        var copyPath = Path.Combine(host.DataDirectory, Tenant, "closed.db");
        File.WriteAllBytes(copyPath, []);

        // A copy on disk that this activation has not opened: the upkeep leaves it alone.
        var replica = host.Grains.GetGrain<IShardReplica>(ShardReplicaGrain.KeyOf(self, ShardName.Format(Tenant, "closed")));
        Assert.Null(await replica.MaintainAsync());
        Assert.Equal(0, new FileInfo(copyPath).Length);

        // Opened (by a fence), it is kept up.
        Assert.True((await replica.FenceAsync(1)).Exists);
        var upkeep = await replica.MaintainAsync();
        Assert.NotNull(upkeep);
        Assert.Equal(0, upkeep.Sequence);
        Assert.Empty(upkeep.Snapshots);
    }

    [Fact]
    public async Task A_copy_is_never_opened_over_the_file_of_a_primary_here_and_a_released_copy_refuses_the_older_primary()
    {
        await using var host = await ShardTestHost.StartAsync();
        var self = host.Services.GetRequiredService<ClusterView>().SelfName;

        // The shard's primary has its file open on this silo (as after a move or a promotion here).
        var source = host.Shard(Tenant, "source");
        await source.DdlAsync(new DdlRequest("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)"));
        await source.MutateAsync(new MutationRequest("INSERT INTO t(v) VALUES ('a')"));

        // A late call of an older primary's pipeline to the replica grain for the same file: refused, nothing opened.
        var stale = host.Grains.GetGrain<IShardReplica>(ShardReplicaGrain.KeyOf(self, ShardName.Format(Tenant, "source")));
        var refused = await ShardAssert.FailsWith(ShardErrorCode.Unavailable, () => stale.FenceAsync(0));
        Assert.Contains("primary", refused.Message, StringComparison.Ordinal);
        await ShardAssert.FailsWith(ShardErrorCode.Unavailable, () => stale.InstallSeedAsync("seed-none", [], epoch: 1));
        Assert.Equal(1, await ShardAssert.CountAsync(source, "t"));

        // A copy released to a primary of epoch 7 refuses the batches of epoch 6, in a later activation too (durably).
        File.WriteAllBytes(Path.Combine(host.DataDirectory, Tenant, "moved.db"), []);
        var key = ShardReplicaGrain.KeyOf(self, ShardName.Format(Tenant, "moved"));
        var released = host.Grains.GetGrain<IShardReplica>(key);
        Assert.True((await released.FenceAsync(0)).Exists);
        await released.ReleaseAsync(7);
        var late = await host.Grains.GetGrain<IShardReplica>(key).ApplyAsync(new ReplicaBatch(6, [], [], null));
        Assert.Equal(ReplicaApplyOutcome.StaleEpoch, late.Outcome);
        Assert.Equal(7, late.Epoch);
        Assert.Equal("7", File.ReadAllText(Path.Combine(host.DataDirectory, Tenant, "moved.db.fence")));
    }

    internal static (List<ReplicatedEntry> Entries, List<ReplicatedKey> Keys) ReadSource(ShardTestHost host, long afterSeq)
    {
        using var connection = new ShardConnection(Path.Combine(host.DataDirectory, Tenant, "source.db"), readOnly: true, planCacheSize: 4);
        var entries = ReplicaLog.ReadTail(connection, afterSeq, 1000)!;
        var keys = connection.Query("SELECT key, at_ms, outcome FROM _idempotency")
            .Select(r => new ReplicatedKey(r[0].AsText, r[1].AsInteger, r[2].AsText))
            .ToList();
        return (entries, keys);
    }

    private static long Count(string path, string table)
    {
        using var connection = new ShardConnection(path, readOnly: true, planCacheSize: 4);
        return connection.ExecuteScalar($"SELECT count(*) FROM {table}");
    }

    private static long OldestLogged(string path)
    {
        using var connection = new ShardConnection(path, readOnly: true, planCacheSize: 4);
        return connection.ExecuteScalar("SELECT coalesce(min(seq), 0) FROM _changes");
    }

    private static List<string> Keys(string path)
    {
        using var connection = new ShardConnection(path, readOnly: true, planCacheSize: 4);
        return connection.Query("SELECT key FROM _idempotency ORDER BY key").Select(r => r[0].AsText).ToList();
    }

    private static List<string> Rows(string path)
    {
        using var connection = new ShardConnection(path, readOnly: true, planCacheSize: 4);
        return connection.Query("SELECT id || '=' || v FROM t ORDER BY id").Select(r => r[0].AsText).ToList();
    }
}
