using OrleansShards.Tests.Infrastructure;

namespace OrleansShards.Tests.TableShards;

/// <summary>The capacity timer of an active shard, which Orleans runs as a turn of the grain.</summary>
public sealed class CapacityTimerTests
{
    [Fact]
    public async Task Regression_the_first_capacity_timer_tick_waited_for_its_own_turn_and_hung_the_shard()
    {
        await using var host = await ShardTestHost.StartAsync(o => o.CapacityCheckPeriod = TimeSpan.FromMilliseconds(50));
        var shard = host.Shard("timer", "items");
        await shard.DdlAsync(new DdlRequest("CREATE TABLE items(id INTEGER PRIMARY KEY)"));
        var engine = host.Grains.GetGrain<OrleansShards.Grains.Sharding.IShardHost>(ShardName.Format("timer", "items"));

        // A tick stores the measured size in _meta; with the bug the first tick never finished and every later call hung.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while ((await engine.ReadInternalAsync("SELECT count(*) FROM _meta WHERE key = 'capacity:size'", []).WaitAsync(TimeSpan.FromSeconds(5)))[0][0].AsInteger == 0)
        {
            Assert.True(DateTime.UtcNow < deadline, "the capacity timer did not tick within 10 s");
            await Task.Delay(20);
        }

        for (var i = 0; i < 5; i++)
        {
            // Ticks keep coming between these calls; each call still gets its turn.
            await shard.MutateAsync(new MutationRequest("INSERT INTO items(id) VALUES (?)", [i])).WaitAsync(TimeSpan.FromSeconds(5));
            await shard.DdlAsync(new DdlRequest("CREATE INDEX IF NOT EXISTS items_id ON items(id)")).WaitAsync(TimeSpan.FromSeconds(5));
            await Task.Delay(60);
        }

        var count = await shard.QueryAsync(new QueryRequest("SELECT count(*) FROM items")).WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(5, count.Rows[0][0].AsInteger);
    }
}
