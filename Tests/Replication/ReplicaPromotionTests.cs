using Microsoft.Extensions.Logging.Abstractions;
using OrleansShards.Grains.Cluster;
using OrleansShards.Grains.Replication;
using OrleansShards.Grains.Storage;
using OrleansShards.Grains.Storage.Native;
using OrleansShards.Tests.Infrastructure;

namespace OrleansShards.Tests.Replication;

/// <summary>
/// A replica's takeover after its primary's silo died (<see cref="ReplicaPromotion"/>), against copies that are real
/// SQLite files applying through <see cref="ReplicaLog"/> and the in-memory ownership map: it catches up from the most
/// advanced copy and takes the shard over; it refuses without a majority, and when its own log diverged from the most
/// advanced copy's — then it puts that copy first among the replicas instead of re-seeding the others from itself.
/// </summary>
public sealed class ReplicaPromotionTests : ReplicaFakes, IDisposable
{
    private const string Shard = "acme:t";
    private readonly TempDirectory _dir = new("promotion");
    private readonly ShardConnection _scratch;
    private readonly Dictionary<string, FileReplica> _copies = [];
    private readonly LocalShardOwnership _ownership = new();

    public ReplicaPromotionTests()
    {
        _scratch = Open(_dir.Combine("scratch.db"));
        foreach (var silo in new[] { "s2", "s3" })
        {
            _copies[silo] = new FileReplica(Open(_dir.Combine(silo + ".db")));
        }
    }

    public void Dispose()
    {
        _scratch.Dispose();
        foreach (var copy in _copies.Values)
        {
            copy.Dispose();
        }

        _dir.Dispose();
    }

    private static ShardConnection Open(string path)
    {
        var connection = new ShardConnection(path, readOnly: false, planCacheSize: 8);
        connection.Execute("PRAGMA journal_mode = WAL; PRAGMA foreign_keys = OFF;");
        ShardSchema.Migrate(connection);
        connection.Execute("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)");
        return connection;
    }

    /// <summary>A log entry inserting row <paramref name="id"/> = <paramref name="value"/>, written by the primary of <paramref name="epoch"/>.</summary>
    private ReplicatedEntry Insert(long seq, long epoch, string value)
    {
        _scratch.Execute("BEGIN IMMEDIATE");
        byte[] changeset;
        using (var session = SqliteSession.Create(_scratch.Connection))
        {
            _scratch.ExecuteInternal("INSERT INTO t(id, v) VALUES (?, ?)", seq, value);
            changeset = session.GetChangeset();
        }

        _scratch.Execute("ROLLBACK");
        return new ReplicatedEntry(seq, seq * 10, 0, changeset, null, epoch);
    }

    /// <summary>Gives <paramref name="silo"/>'s copy these entries, each applied as its primary sent it.</summary>
    private void Hold(string silo, params ReplicatedEntry[] entries)
    {
        foreach (var entry in entries)
        {
            Assert.Equal(ReplicaApplyOutcome.Applied, ReplicaLog.Apply(_copies[silo].Connection, new ReplicaBatch(entry.Epoch, [entry], [], null), fence: 0).Outcome);
        }
    }

    /// <summary>The map says: primary s1 (dead) at <paramref name="epoch"/>, replicas s2 and s3.</summary>
    private async Task<ShardOwner> MapAsync(long epoch)
    {
        var claimed = await _ownership.ClaimAsync(Shard, "s1", epoch - 1);
        Assert.Equal(epoch, claimed.Epoch);
        return (await _ownership.SetReplicasAsync(Shard, "s1", epoch, ["s2", "s3"]))!;
    }

    private ReplicaPromotion PromotionOn(string self, params string[] active) => new(
        Shard,
        self,
        active.Contains,
        new ReplicaFactory(key => _copies[key[..key.IndexOf('/', StringComparison.Ordinal)]]),
        _ownership,
        TimeSpan.FromSeconds(10),
        NullLogger.Instance);

    private List<string> Rows(string silo) =>
        _copies[silo].Connection.Query("SELECT id || '=' || v FROM t ORDER BY id").Select(r => r[0].AsText).ToList();

    [Fact]
    public async Task A_copy_behind_catches_up_from_the_most_advanced_one_with_its_keys_and_takes_the_shard_over()
    {
        Hold("s2", Insert(1, 2, "a"), Insert(2, 2, "b"));
        Hold("s3", Insert(1, 2, "a"), Insert(2, 2, "b"), Insert(3, 2, "c"), Insert(4, 2, "d"));
        _copies["s3"].Connection.ExecuteInternal("INSERT INTO _idempotency(key, at_ms, outcome) VALUES ('k4', 40, '{}')");
        var owner = await MapAsync(epoch: 2);

        var held = await PromotionOn("s2", "s2", "s3").TryPromoteAsync(owner);

        Assert.Equal(4, held);
        Assert.Equal(Rows("s3"), Rows("s2"));
        Assert.Equal(1, _copies["s2"].Connection.ExecuteScalar("SELECT count(*) FROM _idempotency WHERE key = 'k4'"));
        Assert.True(_copies["s2"].Released);
        var now = await _ownership.GetAsync(Shard);
        Assert.Equal(new ShardOwner("s2", 3, "s3,s1"), now);

        // Every copy that answered is fenced at the new epoch: the old primary can get no acknowledgement there.
        Assert.Equal(3, (await _copies["s3"].FenceAsync(0)).Epoch);
    }

    [Fact]
    public async Task A_copy_whose_log_diverged_at_the_same_length_refuses_and_puts_the_most_advanced_copy_first()
    {
        // s2 holds a third commit of an older primary (epoch 1) that no majority confirmed; s3 holds the third commit
        // the primary of epoch 2 had acknowledged. Same length: only the entries' epochs tell them apart.
        Hold("s2", Insert(1, 1, "a"), Insert(2, 1, "b"), Insert(3, 1, "unconfirmed"));
        Hold("s3", Insert(1, 1, "a"), Insert(2, 1, "b"), Insert(3, 2, "acknowledged"));
        var owner = await MapAsync(epoch: 2);

        Assert.Null(await PromotionOn("s2", "s2", "s3").TryPromoteAsync(owner));

        // Nothing taken over, nothing re-seeded from the diverged copy; the next placement looks at s3 first.
        Assert.Equal(new ShardOwner("s1", 2, "s3,s2"), await _ownership.GetAsync(Shard));
        Assert.False(_copies["s2"].Released);
        Assert.Equal(["1=a", "2=b", "3=unconfirmed"], Rows("s2"));
        Assert.Equal(["1=a", "2=b", "3=acknowledged"], Rows("s3"));

        // That copy promotes itself: nothing to catch up, the diverged one becomes its replica (and is seeded by it).
        var owner2 = (await _ownership.GetAsync(Shard))!;
        Assert.Equal(3, await PromotionOn("s3", "s2", "s3").TryPromoteAsync(owner2));
        Assert.Equal(new ShardOwner("s3", 3, "s2,s1"), await _ownership.GetAsync(Shard));
    }

    [Fact]
    public async Task A_copy_whose_log_diverged_below_a_longer_one_refuses_too()
    {
        Hold("s2", Insert(1, 1, "a"), Insert(2, 1, "b"), Insert(3, 1, "unconfirmed"));
        Hold("s3", Insert(1, 1, "a"), Insert(2, 1, "b"), Insert(3, 2, "c"), Insert(4, 2, "d"));
        var owner = await MapAsync(epoch: 2);

        Assert.Null(await PromotionOn("s2", "s2", "s3").TryPromoteAsync(owner));
        Assert.Equal(new ShardOwner("s1", 2, "s3,s2"), await _ownership.GetAsync(Shard));
        Assert.Equal(["1=a", "2=b", "3=unconfirmed"], Rows("s2"));
    }

    [Fact]
    public async Task A_replica_without_a_copy_yet_puts_the_copy_that_has_one_first()
    {
        // s2 is first in the map but was named before its seed arrived; s3 and the old primary held every commit.
        _copies["s2"].Missing = true;
        Hold("s3", Insert(1, 2, "a"), Insert(2, 2, "b"));
        var owner = await MapAsync(epoch: 2);

        Assert.Null(await PromotionOn("s2", "s2", "s3").TryPromoteAsync(owner));

        // Before, every retry came back to s2 and the shard stayed unavailable until the old primary returned.
        Assert.Equal(new ShardOwner("s1", 2, "s3,s2"), await _ownership.GetAsync(Shard));
        Assert.Equal(2, await PromotionOn("s3", "s2", "s3").TryPromoteAsync((await _ownership.GetAsync(Shard))!));
    }

    [Fact]
    public async Task A_copy_too_far_behind_the_most_advanced_ones_pruned_log_puts_that_copy_first()
    {
        // s2 holds an empty copy (seeded at commit 0); s3's log was pruned before commit 3.
        Hold("s3", Insert(1, 2, "a"), Insert(2, 2, "b"), Insert(3, 2, "c"), Insert(4, 2, "d"));
        _copies["s3"].Connection.Execute("DELETE FROM _changes WHERE seq < 3");
        var owner = await MapAsync(epoch: 2);

        Assert.Null(await PromotionOn("s2", "s2", "s3").TryPromoteAsync(owner));
        Assert.Equal(new ShardOwner("s1", 2, "s3,s2"), await _ownership.GetAsync(Shard));
        Assert.Empty(Rows("s2"));
    }

    [Fact]
    public async Task Without_a_majority_of_the_copies_answering_nothing_changes()
    {
        Hold("s2", Insert(1, 2, "a"));
        Hold("s3", Insert(1, 2, "a"), Insert(2, 2, "b"));
        var owner = await MapAsync(epoch: 2);

        // Only this copy is reachable: one of three.
        Assert.Null(await PromotionOn("s2", "s2").TryPromoteAsync(owner));
        Assert.Equal(owner, await _ownership.GetAsync(Shard));
        Assert.False(_copies["s2"].Released);
        Assert.Equal(["1=a"], Rows("s2"));
        Assert.True((await _copies["s3"].FenceAsync(0)).Epoch <= 2, "an unreachable copy was fenced");
    }
}
