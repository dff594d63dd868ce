using Microsoft.Extensions.DependencyInjection;
using OrleansShards.Grains.Replication;
using OrleansShards.Grains.Storage;
using OrleansShards.Tests.Infrastructure;
using OrleansShards.Tests.TableShards;

namespace OrleansShards.Tests.Containment;

/// <summary>Issue 15 item 4: the silo's budget of shard files — least recently used idle shards close first, busy ones never.</summary>
// Runs alone: it measures the silo's descriptors. Opening waits (bounded) for the idle shards it asked to close, so a
// burst of opens that outruns their deactivations on busy cores is no longer refused (it failed so before).
[Collection(OrleansShards.Tests.Caching.LatencyCollection.Name)]
public sealed class ShardFileBudgetTests
{
    [Fact]
    public async Task Opening_past_the_budget_closes_the_least_recently_used_idle_shards()
    {
        // 16 descriptors: five writers (3 each), or four shards with a reader each.
        await using var host = await ShardTestHost.StartAsync(o => o.MaxOpenFiles = 16);
        var budget = host.Services.GetRequiredService<ShardFileBudget>();
        Assert.Equal(16, budget.Limit);
        for (var i = 0; i < 12; i++)
        {
            var shard = host.Shard("budget", "t" + i);
            await shard.DdlAsync(new DdlRequest($"CREATE TABLE t{i}(id INTEGER PRIMARY KEY)"));
            await shard.MutateAsync(new MutationRequest($"INSERT INTO t{i}(id) VALUES (1)"));
            Assert.Equal(1, await ShardAssert.CountAsync(shard, "t" + i));
        }

        // The newest stay, the oldest went; every table still answers (opened again on use).
        await Eventually.TrueAsync(() => budget.OpenFiles <= budget.Limit, "the budget to be kept");
        var open = budget.OpenShardNames();
        Assert.Contains("budget:t11", open);
        Assert.DoesNotContain("budget:t0", open);
        Assert.True(budget.Evictions > 0);
        Assert.Equal(1, await ShardAssert.CountAsync(host.Shard("budget", "t0"), "t0"));
        Assert.Contains("budget:t0", budget.OpenShardNames());
    }

    [Fact]
    public async Task Replica_copies_take_their_share_of_the_budget_and_are_closed_when_idle_to_make_room()
    {
        await using var host = await ShardTestHost.StartAsync(o => o.MaxOpenFiles = 16);
        var budget = host.Services.GetRequiredService<ShardFileBudget>();
        var self = host.Services.GetRequiredService<OrleansShards.Grains.Cluster.ClusterView>().SelfName;

        // Replica copies of shards no primary opens on this silo (empty files, as a seed leaves a new copy).
        var keys = Enumerable.Range(0, 3).Select(i => ShardReplicaGrain.KeyOf(self, ShardName.Format("copies", "r" + i))).ToList();
        Directory.CreateDirectory(Path.Combine(host.DataDirectory, "copies"));
        foreach (var key in keys)
        {
            File.WriteAllBytes(Path.Combine(host.DataDirectory, "copies", key[(key.LastIndexOf(':') + 1)..] + ".db"), []);
            var status = await host.Grains.GetGrain<IShardReplica>(key).FenceAsync(0);
            Assert.True(status.Exists);
        }

        Assert.Equal(3 * ShardFileBudget.WriterFiles, budget.OpenFiles);
        Assert.Equal(keys, budget.OpenShardNames());

        // Primaries opened after them need room: the least recently used copies close (their grains deactivate).
        for (var i = 0; i < 4; i++)
        {
            var shard = host.Shard("budget", "p" + i);
            await shard.DdlAsync(new DdlRequest($"CREATE TABLE p{i}(id INTEGER PRIMARY KEY)"));
            await shard.MutateAsync(new MutationRequest($"INSERT INTO p{i}(id) VALUES (1)"));
        }

        await Eventually.TrueAsync(() => budget.OpenFiles <= budget.Limit, "the budget to be kept");
        var open = budget.OpenShardNames();
        Assert.DoesNotContain(keys[0], open);
        Assert.Contains("budget:p3", open);
        Assert.True(budget.Evictions >= 2, $"evictions: {budget.Evictions}");

        // Used again, the copy opens again (and takes its share again).
        Assert.True((await host.Grains.GetGrain<IShardReplica>(keys[0]).FenceAsync(0)).Exists);
        Assert.Contains(keys[0], budget.OpenShardNames());
        await Eventually.TrueAsync(() => budget.OpenFiles <= budget.Limit, "the budget to be kept after the copy reopened");
    }

    [Fact]
    public async Task Opening_answers_overloaded_when_no_shard_can_close()
    {
        await using var host = await ShardTestHost.StartAsync(o => o.MaxOpenFiles = 16);
        var transactions = new List<(ITableShard Shard, string Id)>();
        for (var i = 0; i < 5; i++)
        {
            var shard = host.Shard("pinned", "t" + i);
            await shard.DdlAsync(new DdlRequest($"CREATE TABLE t{i}(id INTEGER PRIMARY KEY)"));

            // An open interactive transaction lives in its activation: the shard cannot close.
            var begun = await shard.TransactionAsync(new TransactionRequest(TransactionOperation.Begin));
            transactions.Add((shard, begun.TransactionId!));
        }

        var sixth = host.Shard("pinned", "t5");
        var refused = await ShardAssert.FailsWith(ShardErrorCode.Overloaded,
            () => sixth.DdlAsync(new DdlRequest("CREATE TABLE t5(id INTEGER PRIMARY KEY)")));
        Assert.True(refused.Retryable);
        Assert.True(host.Services.GetRequiredService<ShardFileBudget>().IsExhausted);

        foreach (var (shard, id) in transactions)
        {
            await shard.TransactionAsync(new TransactionRequest(TransactionOperation.Rollback, id));
        }

        // Retried once the others can close, it is served (the refused activation is gone; a new one opens).
        await Eventually.TrueAsync(() => TryDdl(host.Shard("pinned", "t5")), "the sixth shard to open", TimeSpan.FromSeconds(20));
        Assert.Equal(0, await ShardAssert.CountAsync(host.Shard("pinned", "t5"), "t5"));
    }

    private static bool TryDdl(ITableShard shard)
    {
        try
        {
            shard.DdlAsync(new DdlRequest("CREATE TABLE IF NOT EXISTS t5(id INTEGER PRIMARY KEY)")).GetAwaiter().GetResult();
            return true;
        }
        catch (ShardException e) when (e.Code == ShardErrorCode.Overloaded)
        {
            return false;
        }
    }

    [Theory]
    [InlineData(20_000, 300, 14_775)]
    [InlineData(400, 300, 36)]
    [InlineData(400, 380, 16)]
    public void The_automatic_budget_keeps_a_quarter_and_at_least_the_headroom_for_the_process(long limit, long open, long budget) =>
        Assert.Equal(budget, ShardFileBudget.Automatic(limit, open));

    [Fact]
    public void Out_of_descriptors_outside_a_shard_is_OVERLOADED_not_INTERNAL()
    {
        var (code, _) = OrleansShards.Silo.Http.ShardsErrors.Classify(new IOException("Too many open files : '/data/acme'", 24));
        Assert.Equal(ShardErrorCode.Overloaded, code);
        Assert.Equal(ShardErrorCode.Internal, OrleansShards.Silo.Http.ShardsErrors.Classify(new IOException("disk on fire")).Code);
    }
}
