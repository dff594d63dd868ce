using Microsoft.Extensions.Logging.Abstractions;
using OrleansShards.Grains.Pitr;
using OrleansShards.Grains.Replication;
using OrleansShards.Grains.Storage;
using OrleansShards.Grains.Storage.Native;
using OrleansShards.Grains.Writes;
using OrleansShards.Tests.Infrastructure;

namespace OrleansShards.Tests.Replication;

/// <summary>
/// The primary's replication pipelines (<see cref="ShardReplicator"/>) against replicas that are real SQLite copies
/// applying through <see cref="ReplicaLog"/>, one of them held up on demand: a slow replica's queue is bounded, and a
/// catch-up ships only the idempotency keys of commits the copy holds.
/// </summary>
public sealed class ShardReplicatorTests : ReplicaFakes, IDisposable
{
    private const string Tenant = "repl";
    private const string Table = "t";
    private readonly TempDirectory _dir = new("replicator");
    private readonly ShardPaths _paths;
    private readonly ShardConnection _primary;
    private readonly Dictionary<string, FileReplica> _replicas = [];

    public ShardReplicatorTests()
    {
        _paths = new ShardPaths(_dir.Path, Tenant, Table);
        Directory.CreateDirectory(_paths.TenantDirectory);
        _primary = Open(_paths.Database);
        _primary.Execute("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)");
    }

    public void Dispose()
    {
        _primary.Dispose();
        foreach (var replica in _replicas.Values)
        {
            replica.Dispose();
        }

        _dir.Dispose();
    }

    private static ShardConnection Open(string path)
    {
        var connection = new ShardConnection(path, readOnly: false, planCacheSize: 8);
        connection.Execute("PRAGMA journal_mode = WAL; PRAGMA foreign_keys = OFF;");
        ShardSchema.Migrate(connection);
        return connection;
    }

    private FileReplica AddReplica(string silo)
    {
        var replica = new FileReplica(Open(_dir.Combine(silo + ".db")));
        replica.Connection.Execute("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)");
        _replicas[silo] = replica;
        return replica;
    }

    private ShardReplicator Replicator(params string[] silos) => new(
        ShardName.Format(Tenant, Table),
        _paths,
        _dir.Path,
        epoch: 1,
        silos,
        new ReplicaFactory(key => _replicas[key[..key.IndexOf('/', StringComparison.Ordinal)]]),
        () => _primary,
        TimeSpan.FromSeconds(60),
        onFenced: _ => { },
        onLost: _ => { },
        NullLogger.Instance);

    /// <summary>Commits an insert on the primary as its writer does (captured, logged at the next sequence under epoch 1).</summary>
    private CommittedGroup Commit(long id, string? key = null)
    {
        var seq = ChangeLog.CurrentSequence(_primary) + 1;
        _primary.Execute("BEGIN IMMEDIATE");
        byte[] changeset;
        using (var session = SqliteSession.Create(_primary.Connection))
        {
            _primary.ExecuteInternal("INSERT INTO t(id, v) VALUES (?, ?)", id, "v" + id);
            changeset = session.GetChangeset();
        }

        _primary.ExecuteInternal("INSERT INTO _changes(seq, at_ms, kind, changeset, ddl, epoch) VALUES (?, ?, 0, ?, NULL, 1)", seq, seq * 10, changeset);
        List<ReplicatedKey>? keys = null;
        if (key is not null)
        {
            var row = new ReplicatedKey(key, seq * 10, Outcome(seq));
            _primary.ExecuteInternal("INSERT INTO _idempotency(key, at_ms, outcome) VALUES (?, ?, ?)", row.Key, row.AtMs, row.Outcome);
            keys = [row];
        }

        _primary.Execute("COMMIT");
        return new CommittedGroup(seq, seq * 10, changeset, null) { Epoch = 1, IdempotencyRows = keys };
    }

    private static string Outcome(long sequence) =>
        System.Text.Json.JsonSerializer.Serialize(new StoredOutcome([], sequence), GrainsJsonContext.Default.StoredOutcome);

    private static List<long> Ids(ShardConnection connection) =>
        connection.Query("SELECT id FROM t ORDER BY id").Select(r => r[0].AsInteger).ToList();

    [Fact]
    public async Task A_replica_that_stops_answering_is_sent_at_most_the_bound_then_catches_up_from_the_log()
    {
        var fast = AddReplica("fast");
        var slow = AddReplica("slow");
        var replicator = Replicator("fast", "slow");

        // Both copies caught up by a first commit; then the slow replica holds the next batch it is sent, and the fast
        // one makes the majority for every commit.
        await replicator.ReplicateAsync(Commit(1));
        await Eventually.TrueAsync(() => replicator.Applied().All(r => r.AppliedSeq == 1), "both replicas to catch up", TimeSpan.FromSeconds(20));
        var before = slow.Snapshot().Count;
        slow.Hold();
        const int Commits = ShardReplicator.MaxPendingSends + 60;
        for (var i = 2; i <= Commits; i++)
        {
            await replicator.ReplicateAsync(Commit(i));
        }

        Assert.Equal(Commits, ChangeLog.CurrentSequence(fast.Connection));
        Assert.Equal(before + 1, slow.Snapshot().Count); // the one it holds; the rest wait in its pipeline

        // Released, it is sent what was queued — not every commit: its pipeline stopped queueing at the bound, and the
        // rest reach it through the log (its catch-up, or the gap the next batch finds). Batches arrive in order, so once
        // the next commit's batch arrived, every queued one did.
        slow.Release();
        await Eventually.TrueAsync(
            () => replicator.Applied().Single(r => r.Silo == "slow").AppliedSeq >= ShardReplicator.MaxPendingSends + 1,
            "the queued batches to apply",
            TimeSpan.FromSeconds(20));
        await replicator.ReplicateAsync(Commit(Commits + 1));
        await Eventually.TrueAsync(
            () => slow.Snapshot().Any(b => b.Entries.Any(e => e.Seq == Commits + 1)) && replicator.Applied().Single(r => r.Silo == "slow").AppliedSeq == Commits + 1,
            "the slow replica to be sent every queued batch and the next commit",
            TimeSpan.FromSeconds(20));
        var single = slow.Snapshot().Count(b => b.Entries is [var only] && only.Seq is > 1 and <= Commits);
        Assert.True(single <= ShardReplicator.MaxPendingSends, $"{single} of {Commits} commits were queued for the held replica one by one");
        Assert.Equal(Ids(_primary), Ids(slow.Connection));
        Assert.Equal(Ids(_primary), Ids(fast.Connection));
    }

    [Fact]
    public async Task A_catch_up_ships_only_the_keys_of_commits_the_copy_holds()
    {
        for (var i = 1; i <= 3; i++)
        {
            Commit(i, key: "k" + i);
        }

        // A key whose commit (4) the writer stored after the copy's tail was read: its data is not in what is shipped.
        _primary.ExecuteInternal("INSERT INTO _idempotency(key, at_ms, outcome) VALUES ('k4', 40, ?)", Outcome(4));

        var copy = AddReplica("behind");
        await Replicator("behind").SyncAsync(3);

        Assert.Equal([1L, 2L, 3L], Ids(copy.Connection));
        var keys = copy.Connection.Query("SELECT key FROM _idempotency ORDER BY key").Select(r => r[0].AsText).ToList();
        Assert.Equal(["k1", "k2", "k3"], keys);
    }
}
