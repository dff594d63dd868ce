using Microsoft.Extensions.Logging.Abstractions;
using OrleansShards.Grains.Hosting;
using OrleansShards.Grains.Storage;
using OrleansShards.Grains.Writes;
using OrleansShards.Tests.Infrastructure;

namespace OrleansShards.Tests.Storage;

/// <summary>The writer's hooks around a commit, on a real SQLite file.</summary>
public sealed class ShardWriterHookTests
{
    [Fact]
    public async Task Acknowledged_runs_after_the_write_returns_and_only_for_commits_whose_Committed_handler_left_work()
    {
        using var dir = new TempDirectory("writer");
        using var connection = OpenItems(dir);
        var observer = new TestCommitObserver();
        var writer = new ShardWriter(connection, new TableShardOptions(), TimeProvider.System, NullLogger.Instance, observers: [observer]);
        await using var _ = writer;

        var committed = new List<long>();
        var acknowledged = new List<long>();
        observer.OnCommitted = group =>
        {
            committed.Add(group.Sequence);
            group.HasAcknowledgedWork = group.Sequence % 2 == 0;
        };
        observer.OnAcknowledged = group => acknowledged.Add(group.Sequence);

        var sequences = new List<long>();
        for (var i = 1; i <= 4; i++)
        {
            var outcome = await writer.EnqueueAsync(new WriteWork(WriteKind.Mutation, [new Statement("INSERT INTO items(id, name) VALUES (?, 'x')", [i])]));
            sequences.Add(outcome.Sequence);
        }

        // A maintenance work runs after the loop finished the previous commit, its acknowledged step included.
        await writer.RunMaintenanceAsync(_ => Task.CompletedTask);
        Assert.Equal(sequences, committed);
        Assert.Equal(sequences.Where(s => s % 2 == 0), acknowledged);
    }

    [Fact]
    public async Task Used_pages_are_measured_every_few_commits_far_from_the_limit_and_every_commit_near_it()
    {
        using var dir = new TempDirectory("writer-measure");
        using var connection = OpenItems(dir);
        var observer = new TestCommitObserver();
        var writer = new ShardWriter(connection, new TableShardOptions(), TimeProvider.System, NullLogger.Instance, new OrleansShards.Grains.Pitr.PreupdateChangeCapture(), [observer]);
        await using var _ = writer;

        var measured = new List<bool>();
        observer.OnGroupCommitted = _ => measured.Add(writer.MeasuredAtCommit);
        async Task InsertAsync(int id, string name) =>
            await writer.EnqueueAsync(new WriteWork(WriteKind.Mutation, [new Statement("INSERT INTO items(id, name) VALUES (?, ?)", [id, name])]));

        for (var i = 1; i <= 2 * ShardWriter.MeasureEveryCommits; i++)
        {
            await InsertAsync(i, "small");
        }

        Assert.Equal(
            Enumerable.Range(1, 2 * ShardWriter.MeasureEveryCommits).Select(n => n % ShardWriter.MeasureEveryCommits == 0),
            measured);

        // A commit that changed a lot is measured at once.
        measured.Clear();
        await InsertAsync(1000, new string('x', 100_000));
        Assert.Equal([true], measured);
        Assert.True(writer.UsedPagesAtCommit * 4096 > 100_000);

        // Near the limit, every commit.
        measured.Clear();
        writer.NearCapacity = true;
        for (var i = 0; i < 3; i++)
        {
            await InsertAsync(2000 + i, "small");
        }

        Assert.Equal([true, true, true], measured);
    }

    /// <summary>A shard file as the grain opens it (WAL, engine schema) with an <c>items</c> table.</summary>
    /// <summary>An output gate that records what it is asked to replicate, failing while <see cref="Fail"/> is set.</summary>
    private sealed class RecordingGate : IReplicationGate
    {
        public List<CommittedGroup> Groups { get; } = [];

        public bool Fail { get; set; }

        public Task ReplicateAsync(CommittedGroup commit)
        {
            Groups.Add(commit);
            return Fail ? Task.FromException(new ShardException(ShardErrorCode.Unavailable, "no majority")) : Task.CompletedTask;
        }
    }

    [Fact]
    public async Task A_keyed_write_that_changed_nothing_still_replicates_its_key_and_is_not_acknowledged_without_a_majority()
    {
        using var dir = new TempDirectory("writer-keys");
        using var connection = OpenItems(dir);
        var observer = new TestCommitObserver();
        var committed = new List<long>();
        observer.OnCommitted = group => committed.Add(group.Sequence);
        var gate = new RecordingGate();
        var writer = new ShardWriter(connection, new TableShardOptions(), TimeProvider.System, NullLogger.Instance, new OrleansShards.Grains.Pitr.PreupdateChangeCapture(), [observer])
        {
            Replication = gate,
        };
        await using var _ = writer;

        // Matches no row: no log entry, no new sequence, but the key is stored, so it must reach the replicas.
        var nothing = await writer.EnqueueAsync(new WriteWork(WriteKind.Mutation, [new Statement("DELETE FROM items WHERE id = 42")], "k-nothing"));
        Assert.Equal(0, nothing.Sequence);
        var keysOnly = Assert.Single(gate.Groups);
        Assert.True(keysOnly.KeysOnly);
        Assert.Equal("k-nothing", Assert.Single(keysOnly.IdempotencyRows!).Key);
        Assert.Empty(committed);

        // A write that changes data is one group with its entry and its key, as before.
        await writer.EnqueueAsync(new WriteWork(WriteKind.Mutation, [new Statement("INSERT INTO items(id, name) VALUES (1, 'a')")], "k-insert"));
        Assert.False(gate.Groups[1].KeysOnly);
        Assert.Equal(1, gate.Groups[1].Sequence);
        Assert.Equal([1L], committed);

        // Without a majority, the keyed no-op is not acknowledged either.
        gate.Fail = true;
        await Assert.ThrowsAsync<ShardException>(() => writer.EnqueueAsync(new WriteWork(WriteKind.Mutation, [new Statement("DELETE FROM items WHERE id = 43")], "k-lost")));

        // Without a key nothing is stored, so nothing is shipped.
        gate.Fail = false;
        await writer.EnqueueAsync(new WriteWork(WriteKind.Mutation, [new Statement("DELETE FROM items WHERE id = 44")]));
        Assert.Equal(3, gate.Groups.Count);
    }

    internal static ShardConnection OpenItems(TempDirectory dir)
    {
        var connection = new ShardConnection(dir.Combine("items.db"), readOnly: false, planCacheSize: 4);
        connection.Execute("PRAGMA journal_mode = WAL");
        ShardSchema.Migrate(connection);
        connection.Execute("CREATE TABLE items(id INTEGER PRIMARY KEY, name TEXT)");
        return connection;
    }
}
