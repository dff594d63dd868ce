using Microsoft.Extensions.DependencyInjection;
using OrleansShards.Grains.Cluster;
using OrleansShards.Tests.Infrastructure;

namespace OrleansShards.Tests.Replication;

/// <summary>A drain that fails leaves its silo in service: the draining mark goes, and new shards go there again.</summary>
[Collection(RedisCollection.Name)]
public sealed class FailedDrainTests(RedisServerFixture redis)
{
    [Fact]
    public async Task A_drain_that_fails_removes_the_draining_mark_of_its_silo()
    {
        var cluster = "faileddrain" + Guid.NewGuid().ToString("N")[..8];
        var silo = cluster + "-a";
        await using var host = new RedisKestrelSilo(redis.Configuration, cluster, name: silo);
        await host.InitializeAsync();
        await using var other = new RedisKestrelSilo(redis.Configuration, cluster, name: cluster + "-b");
        await other.InitializeAsync();
        var ownership = host.Services.GetRequiredService<IShardOwnership>();
        var view = host.Services.GetRequiredService<ClusterView>();
        for (var watch = System.Diagnostics.Stopwatch.StartNew(); view.ActiveSilo(cluster + "-b") is null && watch.Elapsed < TimeSpan.FromSeconds(30);)
        {
            await Task.Delay(20);
        }

        // The other silo takes no shards (it is draining): the drain finds nowhere to move this silo's shard and fails.
        await ownership.SetDrainingAsync(cluster + "-b", true);
        var table = host.Grains.GetGrain<ITableShard>(ShardName.Format("t1", "kept"));
        await table.DdlAsync(new DdlRequest("CREATE TABLE kept(id INTEGER PRIMARY KEY)"));
        await table.MutateAsync(new MutationRequest("INSERT INTO kept(id) VALUES (1)"));

        var id = OperationIds.New();
        await host.Grains.GetGrain<IDrainGrain>(id).StartAsync(silo);
        var record = host.Grains.GetOperation(tenant: null, id);
        var ended = await record.GetAsync();
        for (var watch = System.Diagnostics.Stopwatch.StartNew(); ended is { State: OperationStates.Running } && watch.Elapsed < TimeSpan.FromSeconds(30);)
        {
            await Task.Delay(20);
            ended = await record.GetAsync();
        }

        Assert.Equal(OperationStates.Failed, ended?.State);
        Assert.DoesNotContain(silo, await ownership.DrainingAsync());
        Assert.Contains(cluster + "-b", await ownership.DrainingAsync());
        Assert.Equal(silo, (await ownership.GetAsync(ShardName.Format("t1", "kept")))?.Primary);
        Assert.Single((await table.QueryAsync(new QueryRequest("SELECT id FROM kept"))).Rows);
    }
}
