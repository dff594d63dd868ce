using Microsoft.Extensions.DependencyInjection;
using OrleansShards.Grains.Cluster;
using OrleansShards.Grains.Replication;
using OrleansShards.Grains.Storage;
using OrleansShards.Tests.Infrastructure;
using OrleansShards.Tests.TableShards;

namespace OrleansShards.Tests.Replication;

/// <summary>
/// Follower reads on a replica's copy: they interleave with the copy's applies (a slow read never holds up the
/// acknowledgements the primary's majority needs), answer only when fresh enough, and never take writes.
/// </summary>
public sealed class ReplicaReadTests
{
    private const string Tenant = "upkeep";

    [Fact]
    public async Task A_slow_follower_read_does_not_hold_up_the_copys_applies()
    {
        await using var host = await ShardTestHost.StartAsync(o =>
        {
            o.StatementTimeout = TimeSpan.FromSeconds(4);
            o.ReaderIdleTimeout = TimeSpan.FromMinutes(10);
        });
        var (source, replica) = await StartAsync(host);
        var (first, _) = ReplicaUpkeepTests.ReadSource(host, afterSeq: 0);
        Assert.Equal(ReplicaApplyOutcome.Applied, (await replica.ApplyAsync(new ReplicaBatch(1, first, [], null, ReplicaBatch.Now()))).Outcome);

        var bounded = new QueryRequest("SELECT v FROM t", Consistency: Consistency.Bounded, MaxStalenessMs: 600_000);

        // A read that runs until the statement timeout, on the copy's reader connection (opened for it, the copy's first
        // read: its files are counted then, on the copy's own lease, so other holders closing do not hide it).
        var budget = host.Services.GetRequiredService<ShardFileBudget>();
        var key = ShardReplicaGrain.KeyOf(host.Services.GetRequiredService<ClusterView>().SelfName, ShardName.Format(Tenant, "copy"));
        Assert.Equal(ShardFileBudget.WriterFiles, budget.FilesHeldBy(key));
        var slow = replica.ReadAsync(bounded with { Query = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c" });
        await Eventually.TrueAsync(
            () => slow.IsCompleted || budget.FilesHeldBy(key) > ShardFileBudget.WriterFiles, "the slow read to start", TimeSpan.FromSeconds(20));
        Assert.False(slow.IsCompleted, slow.IsCompleted ? $"the slow read ended before it was seen running: {Ended(slow)}" : null);

        // Meanwhile the primary commits and the copy applies: acknowledged while the read still runs.
        await source.MutateAsync(new MutationRequest("INSERT INTO t(v) VALUES ('b')"));
        var (second, _) = ReplicaUpkeepTests.ReadSource(host, afterSeq: first[^1].Seq);
        var applied = await replica.ApplyAsync(new ReplicaBatch(1, second, [], null, ReplicaBatch.Now()));
        Assert.Equal(ReplicaApplyOutcome.Applied, applied.Outcome);
        Assert.False(slow.IsCompleted, $"the apply waited for the slow read: {(slow.IsCompleted ? Ended(slow) : "")}");

        await ShardAssert.FailsWith(ShardErrorCode.Timeout, () => slow);

        // Fresh enough and read-only: served by the copy.
        var served = await replica.ReadAsync(bounded with { Query = "SELECT v FROM t WHERE id = 1" });
        Assert.NotNull(served);
        Assert.Equal("replica", served.Meta.ServedBy);
        Assert.Equal("a", Assert.Single(served.Rows)[0].AsText);
        await ShardAssert.FailsWith(ShardErrorCode.InvalidArgument, () => replica.ReadAsync(bounded with { Query = "DELETE FROM t" }));
        var after = await replica.ReadAsync(bounded with { Query = "SELECT v FROM t ORDER BY id" });
        Assert.NotNull(after);
        Assert.Equal(["a", "b"], after.Rows.Select(r => r[0].AsText));
    }

    [Fact]
    public async Task A_copy_answers_nothing_when_it_is_not_fresh_enough_or_behind_the_bookmark()
    {
        await using var host = await ShardTestHost.StartAsync();
        var (_, replica) = await StartAsync(host);
        var (entries, _) = ReplicaUpkeepTests.ReadSource(host, afterSeq: 0);

        // Applied from a batch the primary built a minute ago: current as of then.
        Assert.Equal(ReplicaApplyOutcome.Applied, (await replica.ApplyAsync(new ReplicaBatch(1, entries, [], null, ReplicaBatch.Now() - 60_000))).Outcome);
        Assert.Null(await replica.ReadAsync(new QueryRequest("SELECT v FROM t", Consistency: Consistency.Bounded, MaxStalenessMs: 5_000)));
        var stale = await replica.ReadAsync(new QueryRequest("SELECT v FROM t", Consistency: Consistency.Bounded, MaxStalenessMs: 120_000));
        Assert.NotNull(stale);
        Assert.InRange(stale.Meta.AgeMs, 60_000, 120_000);

        // A bookmark the copy holds is served; one past it is not.
        var held = new Bookmark(entries[^1].Seq, Tenant, "copy").ToString();
        var ahead = new Bookmark(entries[^1].Seq + 1, Tenant, "copy").ToString();
        Assert.NotNull(await replica.ReadAsync(new QueryRequest("SELECT v FROM t", MinBookmark: held)));
        Assert.Null(await replica.ReadAsync(new QueryRequest("SELECT v FROM t", MinBookmark: ahead)));
    }

    private static string Ended(Task<QueryResult?> read) => read.Status switch
    {
        TaskStatus.RanToCompletion => read.Result is null ? "answered null (copy closed or not fresh)" : $"answered {read.Result.Rows.Count} row(s)",
        TaskStatus.Faulted => read.Exception!.InnerException!.ToString(),
        _ => read.Status.ToString(),
    };

    /// <summary>A primary with one row, and an empty copy of it on this silo's replica grain, fenced at epoch 1.</summary>
    private static async Task<(ITableShard Source, IShardReplica Replica)> StartAsync(ShardTestHost host)
    {
        var source = host.Shard(Tenant, "source");
        await source.DdlAsync(new DdlRequest("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)"));
        await source.MutateAsync(new MutationRequest("INSERT INTO t(v) VALUES ('a')"));

        var self = host.Services.GetRequiredService<ClusterView>().SelfName;
        File.WriteAllBytes(Path.Combine(host.DataDirectory, Tenant, "copy.db"), []);
        var replica = host.Grains.GetGrain<IShardReplica>(ShardReplicaGrain.KeyOf(self, ShardName.Format(Tenant, "copy")));
        Assert.True((await replica.FenceAsync(1)).Exists);
        return (source, replica);
    }
}
