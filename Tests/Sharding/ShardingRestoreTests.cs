using Microsoft.Data.Sqlite;
using OrleansShards.Grains.Sharding;
using OrleansShards.Grains.Storage;
using OrleansShards.Tests.Infrastructure;
using static OrleansShards.Tests.Sharding.ShardingTestData;

namespace OrleansShards.Tests.Sharding;

/// <summary>
/// Point-in-time restore of tables that were sharded, unsharded or rebalanced: rows moved by sharding go through the
/// commit pipeline (captured, logged, outboxed), so every bookmark of every shard restores exactly.
/// </summary>
public sealed class ShardingRestoreTests
{
    private static Task<long> CountAsync(ITableShard shard, string table = "items") =>
        shard.QueryAsync(new QueryRequest($"SELECT count(*) FROM {table}")).ContinueWith(t => t.Result.Rows.Sum(r => r[0].AsInteger), TaskScheduler.Default);

    [Fact]
    public async Task Regression_restoring_a_partition_of_a_sharded_table_erased_it()
    {
        await using var host = await ShardTestHost.StartAsync();
        var items = await CreateItemsAsync(host, 10);
        await host.Registry("items").ShardAsync(new ShardRequest("id", 2, ShardStrategies.Range));
        var partitions = Enumerable.Range(0, 2).Select(i => host.Shard(Tenant, ShardLayout.ShardName("items", i))).ToArray();
        var copied = await Task.WhenAll(partitions.Select(p => CountAsync(p)));
        Assert.Equal(10, copied.Sum());

        // One write to each partition (routed by key), then each partition's bookmark, then more writes.
        await items.MutateAsync(new MutationRequest("INSERT INTO items(id, org, price) VALUES (?, 'a', 1)", [-1], ShardKey: -1));
        await items.MutateAsync(new MutationRequest("INSERT INTO items(id, org, price) VALUES (?, 'a', 1)", [100], ShardKey: 100));
        var marks = await Task.WhenAll(partitions.Select(p => p.GetBookmarkAsync(new BookmarkRequest())));
        var atMark = await Task.WhenAll(partitions.Select(p => CountAsync(p)));
        await items.MutateAsync(new MutationRequest("INSERT INTO items(id, org, price) VALUES (?, 'a', 1)", [-2], ShardKey: -2));
        await items.MutateAsync(new MutationRequest("INSERT INTO items(id, org, price) VALUES (?, 'a', 1)", [101], ShardKey: 101));

        for (var i = 0; i < partitions.Length; i++)
        {
            var restored = await partitions[i].RestoreAsync(new RestoreRequest(marks[i].Bookmark));
            Assert.Equal(atMark[i], await CountAsync(partitions[i]));

            await partitions[i].RestoreAsync(new RestoreRequest(restored.UndoBookmark));
            Assert.Equal(atMark[i] + 1, await CountAsync(partitions[i]));
        }

        Assert.Equal(14, await CountAsync(items));
    }

    [Fact]
    public async Task Regression_unshard_then_restore_and_undo_lost_acknowledged_writes()
    {
        await using var host = await ShardTestHost.StartAsync();
        var pt = await CreateItemsAsync(host, 10, "pt");
        await host.Registry("pt").ShardAsync(new ShardRequest("id", 2, ShardStrategies.Hash));
        for (var id = 100; id < 105; id++)
        {
            await pt.MutateAsync(new MutationRequest("INSERT INTO pt(id, org, price) VALUES (?, 'a', 1)", [id], ShardKey: id));
        }

        await host.Registry("pt").UnshardAsync();
        Assert.Equal(15, await CountAsync(pt, "pt"));
        var beforeInsert = await pt.GetBookmarkAsync(new BookmarkRequest());
        await pt.MutateAsync(new MutationRequest("INSERT INTO pt(id, org, price) VALUES (200, 'a', 1)"));

        var restored = await pt.RestoreAsync(new RestoreRequest(beforeInsert.Bookmark));
        Assert.Equal(15, await CountAsync(pt, "pt"));
        await pt.RestoreAsync(new RestoreRequest(restored.UndoBookmark));
        Assert.Equal(16, await CountAsync(pt, "pt"));
    }

    [Fact]
    public async Task Regression_a_tenant_trigger_ran_with_engine_rights_when_sharding_moved_rows()
    {
        await using var host = await ShardTestHost.StartAsync();
        var items = await CreateItemsAsync(host, 10);
        await items.DdlAsync(new DdlRequest("CREATE TABLE leak(k TEXT, v TEXT)"));
        var before = await items.GetBookmarkAsync(new BookmarkRequest());
        var sequenceBefore = Bookmark.Parse(before.Bookmark).Sequence;

        // Such a trigger is refused by the DDL that creates it...
        const string steal = "CREATE TRIGGER steal AFTER INSERT ON items BEGIN INSERT INTO leak SELECT key, value FROM _meta; DELETE FROM _changes; END";
        var atCreate = await Assert.ThrowsAsync<ShardException>(() => items.DdlAsync(new DdlRequest(steal)));
        Assert.Equal(ShardErrorCode.SqlError, atCreate.Code);

        await host.Registry("items").ShardAsync(new ShardRequest("id", 2));

        // ...but a file may hold one that an older silo accepted: planted here beside the engine once the table is sharded, so
        // only a row the engine moves fires it (unshard moves every row back into this file).
        using (var raw = new SqliteConnection($"Data Source={new ShardPaths(host.DataDirectory, Tenant, "items").Database};Pooling=False"))
        {
            raw.Open();
            using var command = raw.CreateCommand();
            command.CommandText = steal;
            command.ExecuteNonQuery();
        }

        // What the trigger does is judged as a tenant write, so the move back is refused and rolled back.
        var refused = await Assert.ThrowsAsync<ShardException>(() => host.Registry("items").UnshardAsync());
        Assert.Contains("_meta", refused.Message, StringComparison.Ordinal);
        Assert.True(await host.Registry("items").IsShardedAsync(), "the unshard was rolled back");
        Assert.Equal(10, await CountAsync(items));

        // Nothing leaked and the base file's change log is whole, its sequence never went back.
        var baseFile = host.ShardHost("items");
        Assert.Equal(0, (await baseFile.ReadInternalAsync("SELECT count(*) FROM leak", []))[0][0].AsInteger);
        var log = await baseFile.ReadInternalAsync("SELECT count(*), max(seq) FROM _changes", []);
        Assert.True(log[0][0].AsInteger >= sequenceBefore, "every commit is still in the change log");
        Assert.True(log[0][1].AsInteger >= sequenceBefore, "the commit sequence never goes backwards");
        Assert.True(await baseFile.GetSequenceAsync() >= sequenceBefore);
    }

    [Fact]
    public async Task Regression_sharding_X_deleted_the_tenants_own_table_X__s1()
    {
        await using var host = await ShardTestHost.StartAsync();
        await CreateItemsAsync(host, 10);

        // A table with a partition's name, created before such names were reserved (in-process, as an old silo allowed).
        var own = host.Shard(Tenant, "items__s1");
        await own.DdlAsync(new DdlRequest("CREATE TABLE keep(v TEXT)"));
        await own.MutateAsync(new MutationRequest("INSERT INTO keep VALUES ('mine')"));

        var refused = await Assert.ThrowsAsync<ShardException>(() => host.Registry("items").ShardAsync(new ShardRequest("id", 2)));
        Assert.Equal(ShardErrorCode.InvalidArgument, refused.Code);
        Assert.Contains("items__s1", refused.Message, StringComparison.Ordinal);
        Assert.False(await host.Registry("items").IsShardedAsync());
        Assert.Equal(1, await CountAsync(own, "keep"));
        Assert.Equal(10, await CountAsync(host.Shard(Tenant, "items")));
        Assert.True(ShardName.IsPartitionName("items__s1"));
        Assert.False(ShardName.IsPartitionName("items__s"));
        Assert.False(ShardName.IsPartitionName("items__sx"));
    }
}
