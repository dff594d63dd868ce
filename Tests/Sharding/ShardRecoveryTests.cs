using OrleansShards.Grains.Sharding;
using OrleansShards.Tests.Infrastructure;
using static OrleansShards.Tests.Sharding.ShardingTestData;

namespace OrleansShards.Tests.Sharding;

/// <summary>
/// A crash at each step boundary: the step hook throws <see cref="SimulatedCrashException"/>, which abandons the
/// operation with no cleanup (as a process death would), the host stops, and a fresh host on the same files must
/// find the table usable, rolled back (before the flip) or forward (after), with every row.
/// </summary>
public sealed class ShardRecoveryTests
{
    [Theory]
    [InlineData("copy", false)]
    [InlineData("catchup", false)]
    [InlineData("switch", false)]
    [InlineData("prepare", false)]
    [InlineData("flip", false)]
    [InlineData("commit", true)]
    [InlineData("cleanup", true)]
    public async Task ShardAsync_is_rolled_back_or_forward_when_the_process_dies_at_a_step(string step, bool switched)
    {
        using var dir = new TempDirectory("crash");
        List<string> before;
        await using (var host = await ShardTestHost.StartAsync(dataDirectory: dir.Path))
        {
            var items = await CreateItemsAsync(host, 1200);
            before = await DumpAsync(items, "items");
            host.Faults().OnStep = s =>
            {
                if (s == step)
                {
                    throw new SimulatedCrashException(s);
                }
            };
            await Assert.ThrowsAsync<SimulatedCrashException>(() => host.Registry("items").ShardAsync(new ShardRequest("org", 3)));
        }

        await using (var host = await ShardTestHost.StartAsync(dataDirectory: dir.Path))
        {
            var discovery = await host.Registry("items").DiscoverAsync();
            Assert.Null(discovery.Operation);
            Assert.Equal(switched, discovery.Sharded);
            var items = host.Shard(Tenant, "items");
            Assert.Equal(before, await DumpAsync(items, "items"));
            if (switched)
            {
                Assert.Equal(1200, discovery.Stats!.Total);
                Assert.Equal(0, await host.ShardHost("items").CountRowsAsync("items"));
                await items.MutateAsync(new MutationRequest("DELETE FROM items WHERE id = 1", ShardKey: Orgs[1]));
            }
            else
            {
                Assert.False(File.Exists(ShardFile(host, "items__s0")));
                await items.MutateAsync(new MutationRequest("DELETE FROM items WHERE id = 1"));
                var again = await host.Registry("items").ShardAsync(new ShardRequest("org", 3));
                Assert.Equal(1199, again.Stats.Total);
            }

            var events = await host.ShardHost("items").ReadInternalAsync("SELECT type FROM _events ORDER BY id", []);
            Assert.Equal(switched ? ShardEvents.Completed : ShardEvents.Failed, events.Select(r => r[0].AsText).ElementAt(1));
        }
    }

    [Theory]
    [InlineData("copy", false)]
    [InlineData("prepare", false)]
    [InlineData("commit", true)]
    public async Task RebalanceAsync_into_live_shards_is_rolled_back_or_forward_when_the_process_dies(string step, bool switched)
    {
        using var dir = new TempDirectory("crash-rb");
        List<string> before;
        await using (var host = await ShardTestHost.StartAsync(dataDirectory: dir.Path))
        {
            var items = await CreateItemsAsync(host, 1000);
            await host.Registry("items").ShardAsync(new ShardRequest("id", 3, "range"));
            await InsertItemsAsync(items, "items", 50_000, 600, shardKey: 50_000);
            before = await DumpAsync(items, "items");
            host.Faults().OnStep = s =>
            {
                if (s == step)
                {
                    throw new SimulatedCrashException(s);
                }
            };
            await Assert.ThrowsAsync<SimulatedCrashException>(() => host.Registry("items").RebalanceAsync(new RebalanceRequest(Strategy: "full")));
        }

        await using (var host = await ShardTestHost.StartAsync(dataDirectory: dir.Path))
        {
            var discovery = await host.Registry("items").DiscoverAsync();
            Assert.Null(discovery.Operation);
            Assert.Equal(1600, discovery.Stats!.Total);
            if (switched)
            {
                Assert.InRange(discovery.Stats.SkewRatio, 1, 1.01);
            }
            else
            {
                Assert.True(discovery.Stats.SkewRatio > 1.5, "the old, skewed layout is still in force");
            }

            Assert.Equal(before, await DumpAsync(host.Shard(Tenant, "items"), "items"));
            for (var i = 0; i < 3; i++)
            {
                var staging = await host.ShardHost($"items__s{i}").ReadInternalAsync("SELECT count(*) FROM sqlite_master WHERE name LIKE '\\_mv%' ESCAPE '\\'", []);
                Assert.Equal(0, staging[0][0].AsInteger);
            }
        }
    }
}
