using OrleansShards.Grains.Sharding;
using OrleansShards.Tests.Infrastructure;
using static OrleansShards.Tests.Sharding.ShardingTestData;

namespace OrleansShards.Tests.Sharding;

/// <summary>
/// Primary keys are identities while rows move. Two partitions may still hold rows with one primary key (a table sharded
/// by another column, its ids given per partition): an unshard or a rebalance that would bring them into one file fails
/// and changes nothing, instead of keeping one row and losing the other.
/// </summary>
public sealed class ShardKeyCollisionTests
{
    [Fact]
    public async Task An_unshard_that_would_merge_two_rows_with_one_primary_key_fails_and_loses_nothing()
    {
        await using var host = await ShardTestHost.StartAsync();
        var items = await CreateItemsAsync(host, 400);
        await host.Registry("items").ShardAsync(new ShardRequest("org", 4));
        var (first, second) = OrgsInDifferentShards(4);
        await items.MutateAsync(new MutationRequest("INSERT INTO items(id, org, price) VALUES (10000, ?, 1)", [first], ShardKey: first));
        await items.MutateAsync(new MutationRequest("INSERT INTO items(id, org, price) VALUES (10000, ?, 2)", [second], ShardKey: second));
        var before = await DumpAsync(items, "items");
        Assert.Equal(402, before.Count);

        var refused = await Assert.ThrowsAsync<ShardException>(() => host.Registry("items").UnshardAsync());

        Assert.Equal(ShardErrorCode.ConflictUnique, refused.Code);
        Assert.Contains("would keep only one of them", refused.Message, StringComparison.Ordinal);
        Assert.True(await host.Registry("items").IsShardedAsync());
        Assert.Equal(before, await DumpAsync(items, "items"));

        // With the duplicate gone, the same unshard keeps every row.
        await items.MutateAsync(new MutationRequest("DELETE FROM items WHERE id = 10000", ShardKey: second));
        var result = await host.Registry("items").UnshardAsync();
        Assert.Equal(401, result.RowCount);
        Assert.Equal(before.Where(r => !r.StartsWith("10000|" + second, StringComparison.Ordinal)).ToList(), await DumpAsync(items, "items"));
    }

    [Fact]
    public async Task A_shrinking_rebalance_that_would_bring_a_row_onto_another_with_its_primary_key_fails_and_loses_nothing()
    {
        await using var host = await ShardTestHost.StartAsync();
        var items = await CreateItemsAsync(host, 400);
        await host.Registry("items").ShardAsync(new ShardRequest("org", 3));

        // A row in the partition that goes away (index 2), and one with the same id in the partition its rows go to, that
        // stays there: hash shrinking moves only the removed partition's rows.
        var leaving = Orgs.First(o => ShardHashing.Bucket(o, 3) == 2);
        var target = ShardHashing.Bucket(leaving, 2);
        var staying = Orgs.First(o => ShardHashing.Bucket(o, 3) == target && ShardHashing.Bucket(o, 2) == target);
        await items.MutateAsync(new MutationRequest("INSERT INTO items(id, org, price) VALUES (20000, ?, 1)", [leaving], ShardKey: leaving));
        await items.MutateAsync(new MutationRequest("INSERT INTO items(id, org, price) VALUES (20000, ?, 2)", [staying], ShardKey: staying));
        var before = await DumpAsync(items, "items");

        var refused = await Assert.ThrowsAsync<ShardException>(() => host.Registry("items").RebalanceAsync(new RebalanceRequest(TargetCount: 2)));

        Assert.Equal(ShardErrorCode.ConflictUnique, refused.Code);
        Assert.Contains("(20000)", refused.Message, StringComparison.Ordinal);
        Assert.Equal(3, (await host.Registry("items").DiscoverAsync()).Shards.Count);
        Assert.Equal(before, await DumpAsync(items, "items"));
        Assert.True(File.Exists(ShardFile(host, "items__s2")));

        await items.MutateAsync(new MutationRequest("DELETE FROM items WHERE id = 20000", ShardKey: leaving));
        var shrunk = await host.Registry("items").RebalanceAsync(new RebalanceRequest(TargetCount: 2));
        Assert.Equal(2, shrunk.Shards.Count);
        Assert.Equal(before.Count - 1, shrunk.After.Total);
    }

    [Fact]
    public async Task A_duplicate_primary_key_written_while_an_unshard_copies_is_found_by_its_catch_up()
    {
        await using var host = await ShardTestHost.StartAsync();
        var items = await CreateItemsAsync(host, 400);
        await host.Registry("items").ShardAsync(new ShardRequest("org", 4));
        var (first, second) = OrgsInDifferentShards(4);
        await items.MutateAsync(new MutationRequest("INSERT INTO items(id, org, price) VALUES (30000, ?, 1)", [first], ShardKey: first));

        // After the copy, before the first catch-up round: another partition gets a row with that id. Written to that
        // partition's grain straight away: the hook runs inside the registry's turn, which a write routed through the
        // base table would wait for.
        var partition = host.Shard(Tenant, $"items__s{ShardHashing.Bucket(second, 4)}");
        var written = false;
        host.Faults().OnStep = step =>
        {
            if (step == "catchup" && !written)
            {
                written = true;
                // Off the registry's scheduler, so that the answer is not queued behind the turn that waits for it.
                Assert.True(Task.Run(() => partition.MutateAsync(new MutationRequest("INSERT INTO items(id, org, price) VALUES (30000, ?, 2)", [second], ShardKey: second))).Wait(TimeSpan.FromSeconds(30)));
            }
        };
        var refused = await Assert.ThrowsAsync<ShardException>(() => host.Registry("items").UnshardAsync());
        host.Faults().OnStep = null;

        Assert.True(written);
        Assert.Equal(ShardErrorCode.ConflictUnique, refused.Code);
        Assert.Contains("(30000)", refused.Message, StringComparison.Ordinal);
        Assert.True(await host.Registry("items").IsShardedAsync());
        var rows = await items.QueryAsync(new QueryRequest("SELECT org FROM items WHERE id = 30000 ORDER BY price"));
        Assert.Equal([first, second], rows.Rows.Select(r => r[0].AsText));
        Assert.Equal(402, (await DumpAsync(items, "items")).Count);
    }

    /// <summary>Two organisations whose rows go to different partitions under hash with <paramref name="count"/> shards.</summary>
    private static (string First, string Second) OrgsInDifferentShards(int count)
    {
        var first = Orgs[0];
        var second = Orgs.First(o => ShardHashing.Bucket(o, count) != ShardHashing.Bucket(first, count));
        return (first, second);
    }
}
