using OrleansShards.Grains.Cluster;
using OrleansShards.Grains.Pitr;
using OrleansShards.Grains.Replication;
using OrleansShards.Grains.Storage;
using OrleansShards.Grains.Storage.Native;
using OrleansShards.Tests.Infrastructure;

namespace OrleansShards.Tests.Replication;

/// <summary>
/// A replica's apply of the primary's batches on real SQLite files: in order, exactly, refusing an older primary and
/// a gap, and asking for a seed when it cannot follow.
/// </summary>
public sealed class ReplicaLogTests : IDisposable
{
    private readonly TempDirectory _dir = new("replica-log");
    private readonly ShardConnection _primary;
    private readonly ShardConnection _replica;

    public ReplicaLogTests()
    {
        _primary = Open("primary.db");
        _replica = Open("replica.db");
        foreach (var connection in new[] { _primary, _replica })
        {
            connection.Execute("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)");
        }
    }

    public void Dispose()
    {
        _primary.Dispose();
        _replica.Dispose();
        _dir.Dispose();
    }

    private ShardConnection Open(string name)
    {
        var connection = new ShardConnection(_dir.Combine(name), readOnly: false, planCacheSize: 8);
        connection.Execute("PRAGMA journal_mode = WAL; PRAGMA foreign_keys = OFF;");
        ShardSchema.Migrate(connection);
        return connection;
    }

    /// <summary>Commits <paramref name="sql"/> on the primary as the writer does: captured and logged under the next sequence.</summary>
    private ReplicatedEntry Commit(string sql, long epoch)
    {
        var seq = ChangeLog.CurrentSequence(_primary) + 1;
        _primary.Execute("BEGIN IMMEDIATE");
        byte[] changeset;
        using (var session = SqliteSession.Create(_primary.Connection))
        {
            _primary.Execute(sql);
            changeset = session.GetChangeset();
        }

        _primary.ExecuteInternal("INSERT INTO _changes(seq, at_ms, kind, changeset, ddl, epoch) VALUES (?, ?, 0, ?, NULL, ?)", seq, seq * 10, changeset, epoch);
        _primary.Execute("COMMIT");
        return new ReplicatedEntry(seq, seq * 10, 0, changeset, null, epoch);
    }

    private static ReplicaBatch Batch(long epoch, params ReplicatedEntry[] entries) => new(epoch, entries, [], null);

    private List<string> Rows(ShardConnection connection) =>
        connection.Query("SELECT id || '=' || v FROM t ORDER BY id").Select(r => r[0].AsText).ToList();

    [Fact]
    public void Entries_apply_in_order_and_the_copy_equals_the_primary_including_its_log()
    {
        var first = Commit("INSERT INTO t VALUES (1, 'a'), (2, 'b')", epoch: 3);
        var second = Commit("UPDATE t SET v = 'B' WHERE id = 2", epoch: 3);

        var result = ReplicaLog.Apply(_replica, Batch(3, first, second), fence: 0);

        Assert.Equal(ReplicaApplyOutcome.Applied, result.Outcome);
        Assert.Equal(2, result.Seq);
        Assert.Equal(Rows(_primary), Rows(_replica));
        Assert.Equal(3, ReplicaLog.EntryEpoch(_replica, 2));
        Assert.Equal(new ReplicaStatus(true, 3, 2, 3), ReplicaLog.Status(_replica, fence: 0));

        // Delivered twice: entries already held are skipped, nothing is applied again.
        Assert.Equal(ReplicaApplyOutcome.Applied, ReplicaLog.Apply(_replica, Batch(3, second), fence: 0).Outcome);
        Assert.Equal(Rows(_primary), Rows(_replica));
    }

    [Fact]
    public void A_batch_that_leaves_a_gap_is_refused_with_the_copys_sequence()
    {
        var first = Commit("INSERT INTO t VALUES (1, 'a')", epoch: 2);
        var second = Commit("INSERT INTO t VALUES (2, 'b')", epoch: 2);
        Assert.Equal(ReplicaApplyOutcome.Applied, ReplicaLog.Apply(_replica, Batch(2, first), fence: 0).Outcome);
        var third = Commit("INSERT INTO t VALUES (3, 'c')", epoch: 2);

        var gap = ReplicaLog.Apply(_replica, Batch(2, third), fence: 0);

        Assert.Equal(ReplicaApplyOutcome.Gap, gap.Outcome);
        Assert.Equal(1, gap.Seq);
        Assert.Equal(["1=a"], Rows(_replica));
        Assert.Equal(ReplicaApplyOutcome.Applied, ReplicaLog.Apply(_replica, Batch(2, second, third), fence: 0).Outcome);
        Assert.Equal(Rows(_primary), Rows(_replica));
    }

    [Fact]
    public void A_batch_of_an_older_primary_is_refused_once_a_newer_epoch_was_seen_or_fenced()
    {
        var first = Commit("INSERT INTO t VALUES (1, 'a')", epoch: 5);
        Assert.Equal(ReplicaApplyOutcome.Applied, ReplicaLog.Apply(_replica, Batch(5, first), fence: 0).Outcome);
        var stale = Commit("INSERT INTO t VALUES (2, 'b')", epoch: 4);

        var refused = ReplicaLog.Apply(_replica, Batch(4, stale), fence: 0);
        Assert.Equal(ReplicaApplyOutcome.StaleEpoch, refused.Outcome);
        Assert.Equal(5, refused.Epoch);

        // A promotion's fence (kept beside the file) refuses the current primary's epoch too.
        var fenced = ReplicaLog.Apply(_replica, Batch(5, stale with { Epoch = 5 }), fence: 6);
        Assert.Equal(ReplicaApplyOutcome.StaleEpoch, fenced.Outcome);
        Assert.Equal(["1=a"], Rows(_replica));
    }

    [Fact]
    public void A_conflicting_or_restore_entry_asks_for_a_seed_and_changes_nothing()
    {
        _replica.Execute("INSERT INTO t VALUES (1, 'diverged')");
        var first = Commit("INSERT INTO t VALUES (1, 'a')", epoch: 1);

        Assert.Equal(ReplicaApplyOutcome.NeedsSeed, ReplicaLog.Apply(_replica, Batch(1, first), fence: 0).Outcome);
        Assert.Equal(0, ChangeLog.CurrentSequence(_replica));

        var restore = new ReplicatedEntry(1, 10, (int)ChangeKind.Restore, null, null, 1);
        Assert.Equal(ReplicaApplyOutcome.NeedsSeed, ReplicaLog.Apply(_replica, Batch(1, restore), fence: 0).Outcome);
    }

    [Fact]
    public void Read_tail_stops_where_the_log_was_pruned()
    {
        Commit("INSERT INTO t VALUES (1, 'a')", epoch: 1);
        Commit("INSERT INTO t VALUES (2, 'b')", epoch: 1);
        Commit("INSERT INTO t VALUES (3, 'c')", epoch: 1);
        Assert.Equal([2L, 3L], ReplicaLog.ReadTail(_primary, 1, 10)!.Select(e => e.Seq));

        _primary.Execute("DELETE FROM _changes WHERE seq = 2");
        Assert.Null(ReplicaLog.ReadTail(_primary, 1, 10));
    }

    [Theory]
    [InlineData("s1|4", "s1", 4, "")]
    [InlineData("s1|4|s2,s3", "s1", 4, "s2,s3")]
    public void Ownership_entries_round_trip_with_their_replicas(string stored, string primary, long epoch, string replicas)
    {
        var owner = ShardOwner.Decode(stored);
        Assert.Equal(new ShardOwner(primary, epoch, replicas), owner);
        Assert.Equal(stored, owner.Encode());
        Assert.Equal(replicas.Length == 0 ? [] : replicas.Split(','), owner.Replicas);
    }

    [Theory]
    [InlineData("s1")]
    [InlineData("|4")]
    [InlineData("s1|x")]
    [InlineData("s1|4|a|b")]
    public void Malformed_ownership_entries_are_refused(string stored) =>
        Assert.Throws<FormatException>(() => ShardOwner.Decode(stored));
}
