using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using OrleansShards.Grains.Cluster;
using OrleansShards.Grains.Hosting;
using OrleansShards.Grains.Replication;
using OrleansShards.Grains.Storage;
using OrleansShards.Tests.Infrastructure;
using OrleansShards.Tests.TableShards;

namespace OrleansShards.Tests.Replication;

/// <summary>
/// A primary opening a file that this silo's replica of the shard holds open (a move's target: the moved-away primary
/// asks the replica to let go without waiting for it) has the replica let go first, fenced at the map's epoch.
/// </summary>
[Collection(RedisCollection.Name)]
public sealed class CopyHandOverTests(RedisServerFixture redis)
{
    [Fact]
    public async Task A_primary_opening_here_first_has_this_silos_replica_let_go_of_the_same_file()
    {
        var silo = "handover" + Guid.NewGuid().ToString("N")[..8];
        await using var host = new RedisKestrelSilo(redis.Configuration, cluster: silo);
        await host.InitializeAsync();
        var budget = host.Services.GetRequiredService<ShardFileBudget>();
        var data = host.Services.GetRequiredService<IOptions<TableShardOptions>>().Value.DataDirectory;

        // A primary whose change log feeds the copy.
        var source = host.Grains.GetGrain<ITableShard>(ShardName.Format("t1", "source"));
        await source.DdlAsync(new DdlRequest("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)"));
        await source.MutateAsync(new MutationRequest("INSERT INTO t(v) VALUES ('a')"));
        List<ReplicatedEntry> entries;
        using (var log = new ShardConnection(Path.Combine(data, "t1", "source.db"), readOnly: true, planCacheSize: 4))
        {
            entries = ReplicaLog.ReadTail(log, 0, 1000)!;
        }

        // This silo's replica of t1:copy, fenced at epoch 1 and caught up: it holds the file open.
        File.WriteAllBytes(Path.Combine(data, "t1", "copy.db"), []);
        var key = ShardReplicaGrain.KeyOf(silo, ShardName.Format("t1", "copy"));
        var replica = host.Grains.GetGrain<IShardReplica>(key);
        Assert.True((await replica.FenceAsync(1)).Exists);
        Assert.Equal(ReplicaApplyOutcome.Applied, (await replica.ApplyAsync(new ReplicaBatch(1, entries, [], null, ReplicaBatch.Now()))).Outcome);
        Assert.True(budget.FilesHeldBy(key) > 0, "the replica holds its copy open");

        // The map hands the shard to this silo (as a move's compare-and-set does), at epoch 2.
        var handed = await host.Services.GetRequiredService<IShardOwnership>().ClaimAsync(ShardName.Format("t1", "copy"), silo, minEpoch: 1);
        Assert.Equal((silo, 2L), (handed.Primary, handed.Epoch));

        // The primary's first call opens the file here: the replica let go of it first, its fence raised to the map's epoch.
        var copy = host.Grains.GetGrain<ITableShard>(ShardName.Format("t1", "copy"));
        var read = await copy.QueryAsync(new QueryRequest("SELECT v FROM t"));
        Assert.Equal("a", Assert.Single(read.Rows)[0].AsText);
        Assert.Equal(0, budget.FilesHeldBy(key));
        Assert.Equal("2", File.ReadAllText(Path.Combine(data, "t1", "copy.db.fence")));

        // A late batch of the older epoch reaches no file.
        var late = await replica.ApplyAsync(new ReplicaBatch(1, [], [], null, ReplicaBatch.Now()));
        Assert.Equal(ReplicaApplyOutcome.StaleEpoch, late.Outcome);
        await copy.MutateAsync(new MutationRequest("INSERT INTO t(v) VALUES ('b')"));
        Assert.Equal(2, await ShardAssert.CountAsync(copy, "t"));
    }
}
