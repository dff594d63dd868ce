using OrleansShards.Grains.Cluster;
using OrleansShards.Grains.Pitr;
using OrleansShards.Grains.Replication;
using Microsoft.Extensions.Logging.Abstractions;
using OrleansShards.Grains.Hosting;
using OrleansShards.Grains.Storage;
using OrleansShards.Grains.Writes;
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

    /// <summary>Records the commits a writer tells its observers about.</summary>
    private sealed class Recorder : ICommitObserver
    {
        public List<long> Sequences { get; } = [];

        public void Committed(CommittedGroup commit) => Sequences.Add(commit.Sequence);
    }

    [Fact]
    public async Task A_replicas_batches_go_through_its_writer_which_follows_the_copy_and_stays_usable_after_a_refusal()
    {
        var first = Commit("INSERT INTO t VALUES (1, 'a'), (2, 'b')", epoch: 3);

        // A schema change, logged by the primary as DDL (kind 1, its SQL), replayed alone on the copy.
        _primary.Execute("CREATE TABLE u(x)");
        _primary.ExecuteInternal("INSERT INTO _changes(seq, at_ms, kind, changeset, ddl, epoch) VALUES (2, 20, 1, NULL, 'CREATE TABLE u(x)', 3)");
        var ddl = new ReplicatedEntry(2, 20, (int)ChangeKind.Ddl, null, "CREATE TABLE u(x)", 3);
        var third = Commit("UPDATE t SET v = 'B' WHERE id = 2", epoch: 3);

        var recorder = new Recorder();
        await using var writer = new ShardWriter(_replica, new TableShardOptions(), TimeProvider.System, NullLogger.Instance, observers: [recorder]);
        Assert.Equal(0, writer.Sequence);

        var result = await writer.ApplyReplicatedAsync(Batch(3, first, ddl, third), fence: 0);

        Assert.Equal(ReplicaApplyOutcome.Applied, result.Outcome);
        Assert.Equal(3, result.Seq);
        Assert.Equal(3, writer.Sequence);
        Assert.Equal(3, writer.Commits);
        Assert.Equal(first.Changeset!.Length + third.Changeset!.Length, writer.LoggedBytes);
        Assert.Equal([1L, 2L, 3L], recorder.Sequences);
        Assert.Equal(Rows(_primary), Rows(_replica));
        Assert.Equal(1, _replica.ExecuteScalar("SELECT count(*) FROM sqlite_schema WHERE name = 'u'"));
        Assert.Equal(0, _replica.ExecuteScalar($"SELECT count(*) FROM _meta WHERE key = '{ReplicaLog.DdlPendingKey}'"));

        // An older primary's batch is refused through the writer too; the writer and the copy stay as they were.
        var stale = third with { Seq = 4, Epoch = 2 };
        var refused = await writer.ApplyReplicatedAsync(Batch(2, stale), fence: 0);
        Assert.Equal(ReplicaApplyOutcome.StaleEpoch, refused.Outcome);
        Assert.Equal(3, writer.Sequence);
        Assert.Equal([1L, 2L, 3L], recorder.Sequences);

        var fourth = Commit("UPDATE t SET v = 'A' WHERE id = 1", epoch: 3);
        Assert.Equal(ReplicaApplyOutcome.Applied, (await writer.ApplyReplicatedAsync(Batch(3, fourth), fence: 0)).Outcome);
        Assert.Equal(4, writer.Sequence);
        Assert.Equal(Rows(_primary), Rows(_replica));
    }

    [Fact]
    public async Task A_copy_between_a_replayed_ddl_and_its_log_row_is_marked_and_never_snapshotted()
    {
        var first = Commit("INSERT INTO t VALUES (1, 'a')", epoch: 3);
        Assert.Equal(ReplicaApplyOutcome.Applied, ReplicaLog.Apply(_replica, Batch(3, first), fence: 0).Outcome);
        var snapshots = new SnapshotStore(_dir.Combine("replica.snapshots"));
        Assert.Equal(1, snapshots.WriteFromDatabase(_dir.Combine("replica.db")));

        // The DDL replays in a transaction of its own; the one that logs it never commits (the process dies there).
        var ddl = new ReplicatedEntry(2, 20, (int)ChangeKind.Ddl, null, "CREATE TABLE u(x)", 3);
        var begins = 0;
        var result = await ReplicaLog.ApplyAsync(
            _replica,
            Batch(3, ddl),
            fence: 0,
            () =>
            {
                if (++begins == 2)
                {
                    throw new ShardException(ShardErrorCode.Unavailable, "the process died here");
                }

                _replica.Execute("BEGIN IMMEDIATE");
                return ValueTask.CompletedTask;
            },
            () =>
            {
                _replica.Execute("COMMIT");
                return ValueTask.CompletedTask;
            },
            applied: null);

        // The copy holds the DDL under the previous sequence, marked; a snapshot of it now would name that state 1.
        Assert.Equal(ReplicaApplyOutcome.NeedsSeed, result.Outcome);
        Assert.Equal(1, _replica.ExecuteScalar("SELECT count(*) FROM sqlite_schema WHERE name = 'u'"));
        Assert.Equal(1, ChangeLog.CurrentSequence(_replica));
        Assert.Equal(2, _replica.ExecuteScalar($"SELECT value FROM _meta WHERE key = '{ReplicaLog.DdlPendingKey}'"));
        Assert.Equal(0, snapshots.WriteFromDatabase(_dir.Combine("replica.db")));
        Assert.Equal([1L], snapshots.List());
        Assert.DoesNotContain(Directory.EnumerateFiles(snapshots.Directory), SnapshotStore.IsTemporary);
    }

    [Fact]
    public void A_ddl_replay_that_does_not_end_is_interrupted()
    {
        // It ended on the primary (its loop was bounded by the time then); re-run, it would not.
        const string Forever = "INSERT INTO t(v) WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c) SELECT count(*) FROM c";
        var started = System.Diagnostics.Stopwatch.StartNew();
        var error = Assert.Throws<ShardException>(() => ShardStateBuilder.ReplayDdl(_replica, Forever, null, 1, timeout: TimeSpan.FromMilliseconds(300)));
        Assert.Equal(ShardErrorCode.Timeout, error.Code);
        Assert.True(started.Elapsed < TimeSpan.FromSeconds(30), $"took {started.Elapsed}");
        Assert.Equal(0, _replica.ExecuteScalar("SELECT count(*) FROM t"));
        Assert.Equal(1, SQLitePCL.raw.sqlite3_get_autocommit(_replica.Db)); // rolled back, the connection usable
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
