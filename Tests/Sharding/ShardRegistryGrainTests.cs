using Microsoft.Extensions.DependencyInjection;
using OrleansShards.Grains.Hosting;
using OrleansShards.Grains.Sharding;
using Orleans.Runtime;
using Orleans.Streams;
using OrleansShards.Tests.Infrastructure;
using static OrleansShards.Tests.Sharding.ShardingTestData;

namespace OrleansShards.Tests.Sharding;

public sealed class ShardRegistryGrainTests
{
    [Fact]
    public async Task ShardAsync_hash_routes_keyed_calls_and_fans_out_reads_when_sharded()
    {
        await using var host = await ShardTestHost.StartAsync();
        var items = await CreateItemsAsync(host, 2000);
        var before = await DumpAsync(items, "items");

        var result = await host.Registry("items").ShardAsync(new ShardRequest("org", 4));

        Assert.Equal(4, result.Shards.Count);
        Assert.Equal(2000, result.Shards.Sum(s => s.RowCount));
        Assert.All(result.Shards, s => Assert.True(s.RowCount > 0));
        Assert.Equal(2000, result.RowsMoved);
        Assert.Equal(2000, result.Stats.Total);
        Assert.Equal("hash", result.Registry.Strategy);
        Assert.Equal(["items__s0", "items__s1", "items__s2", "items__s3"], result.Registry.Endpoints.Select(e => e.Name));
        Assert.True(await host.Registry("items").IsShardedAsync());
        Assert.Equal(before, await DumpAsync(items, "items"));

        // Every row of one org lives in exactly the shard its key hashes to.
        foreach (var org in Orgs.Take(5))
        {
            var expected = ShardHashing.Bucket(org, 4);
            var direct = await host.Shard(Tenant, $"items__s{expected}").QueryAsync(new QueryRequest("SELECT count(*) FROM items WHERE org = ?", [org]));
            Assert.Equal(50, direct.Rows[0][0].AsInteger);
            var routed = await items.QueryAsync(new QueryRequest("SELECT count(*) FROM items WHERE org = ?", [org], ShardKey: org));
            Assert.Equal(50, routed.Rows[0][0].AsInteger);
        }

        var written = await items.MutateAsync(new MutationRequest("INSERT INTO items(id, org, price) VALUES (?, ?, ?)", [99_999, "org3", 1.5], ShardKey: "org3"));
        Assert.Equal(1, written.Changes);
        var back = await items.QueryAsync(new QueryRequest("SELECT price FROM items WHERE id = ?", [99_999], ShardKey: "org3"));
        Assert.Equal(1.5, back.Rows[0][0].AsReal);

        var unkeyed = await Assert.ThrowsAsync<ShardException>(() => items.MutateAsync(new MutationRequest("DELETE FROM items WHERE id = ?", [1])));
        Assert.Equal(ShardErrorCode.InvalidArgument, unkeyed.Code);
        Assert.Contains("shardKey", unkeyed.Message, StringComparison.Ordinal);
        var batch = await Assert.ThrowsAsync<ShardException>(() => items.BatchAsync(new BatchRequest([new Statement("DELETE FROM items")])));
        Assert.Equal(ShardErrorCode.InvalidArgument, batch.Code);

        // The base file no longer holds rows once the switch cleaned up.
        Assert.Equal(0, await host.ShardHost("items").CountRowsAsync("items"));
    }

    [Fact]
    public async Task A_shardKey_that_contradicts_the_rows_key_column_is_refused_and_writes_nothing()
    {
        await using var host = await ShardTestHost.StartAsync();
        var items = await CreateItemsAsync(host, 200);
        await host.Registry("items").ShardAsync(new ShardRequest("org", 4));
        var home = "org1";
        var elsewhere = Orgs.First(o => ShardHashing.Bucket(o, 4) != ShardHashing.Bucket(home, 4));
        var neighbour = Orgs.FirstOrDefault(o => o != home && ShardHashing.Bucket(o, 4) == ShardHashing.Bucket(home, 4));
        var before = await DumpAsync(items, "items");

        // An insert of another partition's row, routed by this key: refused, in no partition afterwards.
        var insert = await Assert.ThrowsAsync<ShardException>(() => items.MutateAsync(
            new MutationRequest("INSERT INTO items(id, org, price) VALUES (?, ?, ?)", [70_001, elsewhere, 1.0], ShardKey: home)));
        Assert.Equal(ShardErrorCode.InvalidArgument, insert.Code);
        Assert.Contains("contradicts", insert.Message, StringComparison.Ordinal);
        Assert.Contains(elsewhere, insert.Message, StringComparison.Ordinal);

        // An update moving a row's key out of its partition, and one changing a row of another partition's key.
        var moved = await Assert.ThrowsAsync<ShardException>(() => items.MutateAsync(
            new MutationRequest("UPDATE items SET org = ? WHERE org = ?", [elsewhere, home], ShardKey: home)));
        Assert.Equal(ShardErrorCode.InvalidArgument, moved.Code);

        // A batch with one contradicting statement: none of it stays.
        var batch = await Assert.ThrowsAsync<ShardException>(() => items.BatchAsync(new BatchRequest(
            [
                new Statement("INSERT INTO items(id, org, price) VALUES (?, ?, ?)", [70_002, home, 2.0]),
                new Statement("INSERT INTO items(id, org, price) VALUES (?, ?, ?)", [70_003, elsewhere, 3.0]),
            ],
            ShardKey: home)));
        Assert.Equal(ShardErrorCode.InvalidArgument, batch.Code);
        Assert.StartsWith("Statement 1:", batch.Message, StringComparison.Ordinal);
        Assert.Equal(before, await DumpAsync(items, "items"));

        // Writes whose rows belong where the key routes them go on: its own rows, and rows of a key of the same partition.
        Assert.Equal(1, (await items.MutateAsync(new MutationRequest("INSERT INTO items(id, org, price) VALUES (?, ?, ?)", [70_004, home, 4.0], ShardKey: home))).Changes);
        Assert.Equal(1, (await items.MutateAsync(new MutationRequest("UPDATE items SET price = 5 WHERE id = ?", [70_004], ShardKey: home))).Changes);
        if (neighbour is not null)
        {
            Assert.Equal(1, (await items.MutateAsync(new MutationRequest("INSERT INTO items(id, org, price) VALUES (?, ?, ?)", [70_005, neighbour, 6.0], ShardKey: home))).Changes);
            Assert.Equal(1, (await items.QueryAsync(new QueryRequest("SELECT count(*) FROM items WHERE id = 70005", ShardKey: neighbour))).Rows[0][0].AsInteger);
        }

        Assert.Equal(1, (await items.MutateAsync(new MutationRequest("DELETE FROM items WHERE id = ?", [70_004], ShardKey: home))).Changes);

        // A DDL in between (the key column's triggers are dropped and come back with the next routed write).
        await items.DdlAsync(new DdlRequest("ALTER TABLE items ADD COLUMN note TEXT"));
        var afterDdl = await Assert.ThrowsAsync<ShardException>(() => items.MutateAsync(
            new MutationRequest("INSERT INTO items(id, org, price) VALUES (?, ?, ?)", [70_006, elsewhere, 1.0], ShardKey: home)));
        Assert.Equal(ShardErrorCode.InvalidArgument, afterDdl.Code);
        Assert.Equal(0, (await items.QueryAsync(new QueryRequest("SELECT count(*) FROM items WHERE id IN (70001, 70003, 70006)"))).Rows[0][0].AsInteger);
    }

    [Fact]
    public async Task A_shardKey_is_checked_against_a_json_path_key_and_exactly_under_roundRobin()
    {
        await using var host = await ShardTestHost.StartAsync();
        var byPath = await CreateItemsAsync(host, 100, "docs");
        await host.Registry("docs").ShardAsync(new ShardRequest("meta.organization.id", 4));
        var elsewhere = Orgs.First(o => ShardHashing.Bucket(o, 4) != ShardHashing.Bucket("org1", 4));
        var path = await Assert.ThrowsAsync<ShardException>(() => byPath.MutateAsync(new MutationRequest(
            "INSERT INTO docs(id, org, meta) VALUES (?, ?, ?)", [80_001, "org1", $"{{\"organization\":{{\"id\":\"{elsewhere}\"}}}}"], ShardKey: "org1")));
        Assert.Equal(ShardErrorCode.InvalidArgument, path.Code);
        Assert.Contains("meta.organization.id", path.Message, StringComparison.Ordinal);
        Assert.Equal(1, (await byPath.MutateAsync(new MutationRequest(
            "INSERT INTO docs(id, org, meta) VALUES (?, ?, ?)", [80_002, "org1", "{\"organization\":{\"id\":\"org1\"}}"], ShardKey: "org1"))).Changes);

        // roundRobin assigns a key on first use: only the key the write was routed by may be written, whatever its shard.
        var byTurn = await CreateItemsAsync(host, 100, "turns");
        await host.Registry("turns").ShardAsync(new ShardRequest("org", 2, ShardStrategies.RoundRobin));
        var other = await Assert.ThrowsAsync<ShardException>(() => byTurn.MutateAsync(
            new MutationRequest("INSERT INTO turns(id, org, price) VALUES (?, ?, ?)", [80_003, "fresh-b", 1.0], ShardKey: "fresh-a")));
        Assert.Equal(ShardErrorCode.InvalidArgument, other.Code);
        Assert.Equal(1, (await byTurn.MutateAsync(new MutationRequest("INSERT INTO turns(id, org, price) VALUES (?, ?, ?)", [80_004, "fresh-a", 1.0], ShardKey: "fresh-a"))).Changes);
        Assert.Equal(1, (await byTurn.QueryAsync(new QueryRequest("SELECT count(*) FROM turns WHERE id = 80004", ShardKey: "fresh-a"))).Rows[0][0].AsInteger);
    }

    [Theory]
    [InlineData(null, 4, "hash", "key is required")]
    [InlineData("", 4, "hash", "key is required")]
    [InlineData("org", 0, "hash", "positive")]
    [InlineData("org", -3, "hash", "positive")]
    [InlineData("org", 1001, "hash", "at most 1000")]
    [InlineData("org", 4, "modulo", "Unknown strategy")]
    [InlineData("org", 4, "custom", "router")]
    [InlineData("nope", 4, "hash", "no column nope")]
    [InlineData("org;drop", 4, "hash", "[A-Za-z0-9_]")]
    public async Task ShardAsync_rejects_with_invalid_argument_when_request_is_bad(string? key, int count, string strategy, string message)
    {
        await using var host = await ShardTestHost.StartAsync();
        await CreateItemsAsync(host, 10);

        var error = await Assert.ThrowsAsync<ShardException>(() => host.Registry("items").ShardAsync(new ShardRequest(key, count, strategy)));

        Assert.Equal(ShardErrorCode.InvalidArgument, error.Code);
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
        Assert.False(await host.Registry("items").IsShardedAsync());
    }

    [Fact]
    public async Task ShardAsync_rejects_when_table_is_empty_already_sharded_has_no_primary_key_or_is_missing()
    {
        await using var host = await ShardTestHost.StartAsync();
        await host.Shard(Tenant, "empty").DdlAsync(new DdlRequest("CREATE TABLE empty(id INTEGER PRIMARY KEY, org TEXT)"));
        var empty = await Assert.ThrowsAsync<ShardException>(() => host.Registry("empty").ShardAsync(new ShardRequest("org", 2)));
        Assert.Equal(ShardErrorCode.InvalidArgument, empty.Code);
        Assert.Contains("empty", empty.Message, StringComparison.Ordinal);

        await host.Shard(Tenant, "nopk").DdlAsync(new DdlRequest("CREATE TABLE nopk(org TEXT)"));
        await host.Shard(Tenant, "nopk").MutateAsync(new MutationRequest("INSERT INTO nopk VALUES ('a')"));
        var noKey = await Assert.ThrowsAsync<ShardException>(() => host.Registry("nopk").ShardAsync(new ShardRequest("org", 2)));
        Assert.Contains("PRIMARY KEY", noKey.Message, StringComparison.Ordinal);

        var missing = await Assert.ThrowsAsync<ShardException>(() => host.Registry("ghost").ShardAsync(new ShardRequest("org", 2)));
        Assert.Equal(ShardErrorCode.NotFound, missing.Code);

        await CreateItemsAsync(host, 10);
        await host.Registry("items").ShardAsync(new ShardRequest("org", 2));
        var again = await Assert.ThrowsAsync<ShardException>(() => host.Registry("items").ShardAsync(new ShardRequest("org", 3)));
        Assert.Equal(ShardErrorCode.InvalidArgument, again.Code);
        Assert.Contains("already sharded", again.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ShardAsync_rejects_when_shard_names_would_exceed_64_characters()
    {
        await using var host = await ShardTestHost.StartAsync();
        var table = new string('t', 60);
        await CreateItemsAsync(host, 5, table);

        var error = await Assert.ThrowsAsync<ShardException>(() => host.Registry(table).ShardAsync(new ShardRequest("org", 100)));

        Assert.Equal(ShardErrorCode.InvalidArgument, error.Code);
        Assert.Contains("64", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ShardAsync_range_stores_quantile_split_points_and_keeps_ranges_contiguous()
    {
        await using var host = await ShardTestHost.StartAsync();
        var items = await CreateItemsAsync(host, 1000);

        var result = await host.Registry("items").ShardAsync(new ShardRequest("id", 4, "range"));

        Assert.Equal([250L, 500L, 750L], result.Registry.SplitPoints!.Select(v => v.AsInteger));
        Assert.All(result.Shards, s => Assert.Equal(250, s.RowCount));
        for (var i = 0; i < 4; i++)
        {
            var range = await host.Shard(Tenant, $"items__s{i}").QueryAsync(new QueryRequest("SELECT min(id), max(id) FROM items"));
            Assert.Equal(i * 250, range.Rows[0][0].AsInteger);
            Assert.Equal((i * 250) + 249, range.Rows[0][1].AsInteger);
        }

        await items.MutateAsync(new MutationRequest("INSERT INTO items(id, org) VALUES (?, ?)", [5000, "x"], ShardKey: 5000));
        var last = await host.Shard(Tenant, "items__s3").QueryAsync(new QueryRequest("SELECT count(*) FROM items WHERE id = 5000"));
        Assert.Equal(1, last.Rows[0][0].AsInteger);
    }

    [Fact]
    public async Task ShardAsync_roundRobin_records_assignments_so_keys_are_found_after_restart()
    {
        using var dir = new TempDirectory("rr");
        await using (var host = await ShardTestHost.StartAsync(dataDirectory: dir.Path))
        {
            var items = await CreateItemsAsync(host, 400);
            var result = await host.Registry("items").ShardAsync(new ShardRequest("org", 4, "roundRobin"));
            Assert.All(result.Shards, s => Assert.Equal(100, s.RowCount));
            await items.MutateAsync(new MutationRequest("INSERT INTO items(id, org) VALUES (?, ?)", [10_000, "newcomer"], ShardKey: "newcomer"));
        }

        await using (var host = await ShardTestHost.StartAsync(dataDirectory: dir.Path))
        {
            var items = host.Shard(Tenant, "items");
            foreach (var org in new[] { "org0", "org17", "newcomer" })
            {
                var total = await items.QueryAsync(new QueryRequest("SELECT count(*) FROM items WHERE org = ?", [org]));
                var keyed = await items.QueryAsync(new QueryRequest("SELECT count(*) FROM items WHERE org = ?", [org], ShardKey: org));
                Assert.Equal(total.Rows.Sum(r => r[0].AsInteger), keyed.Rows[0][0].AsInteger);
                Assert.True(keyed.Rows[0][0].AsInteger > 0);
            }
        }
    }

    [Fact]
    public async Task ShardAsync_custom_uses_the_registered_router()
    {
        await using var host = await ShardTestHost.StartAsync(services: s => s.AddShardRouter("byId", new ModuloRouter()));
        var items = await CreateItemsAsync(host, 300);

        var result = await host.Registry("items").ShardAsync(new ShardRequest("id", 3, "custom", Router: "byId"));

        Assert.Equal("byId", result.Registry.Router);
        for (var i = 0; i < 3; i++)
        {
            var wrong = await host.Shard(Tenant, $"items__s{i}").QueryAsync(new QueryRequest("SELECT count(*) FROM items WHERE id % 3 <> ?", [i]));
            Assert.Equal(0, wrong.Rows[0][0].AsInteger);
        }

        var unknown = await Assert.ThrowsAsync<ShardException>(() => host.Registry("other").ShardAsync(new ShardRequest("id", 3, "custom", Router: "missing")));
        Assert.Contains("missing", unknown.Message, StringComparison.Ordinal);
        Assert.Equal(300, (await DumpAsync(items, "items")).Count);
    }

    [Fact]
    public async Task ShardAsync_routes_by_a_json_path_when_key_is_dotted()
    {
        await using var host = await ShardTestHost.StartAsync();
        var items = await CreateItemsAsync(host, 400);

        var result = await host.Registry("items").ShardAsync(new ShardRequest("meta.organization.id", 4));

        Assert.Equal("meta", result.Registry.Key);
        Assert.Equal("organization.id", result.Registry.KeyPath);
        var org = "org5";
        var shard = ShardHashing.Bucket(org, 4);
        var rows = await host.Shard(Tenant, $"items__s{shard}").QueryAsync(new QueryRequest("SELECT count(*) FROM items WHERE org = ?", [org]));
        Assert.Equal(10, rows.Rows[0][0].AsInteger);
        var keyed = await items.QueryAsync(new QueryRequest("SELECT count(*) FROM items WHERE org = ?", [org], ShardKey: org));
        Assert.Equal(10, keyed.Rows[0][0].AsInteger);
    }

    [Fact]
    public async Task ShardAsync_moves_child_rows_with_their_parent()
    {
        await using var host = await ShardTestHost.StartAsync();
        var orders = host.Shard(Tenant, "orders");
        await orders.DdlAsync(new DdlRequest(
            "CREATE TABLE orders(id INTEGER PRIMARY KEY, customer TEXT NOT NULL);" +
            "CREATE TABLE lines(id INTEGER PRIMARY KEY, order_id INTEGER NOT NULL REFERENCES orders(id), sku TEXT)"));
        var statements = new List<Statement>();
        for (var i = 0; i < 200; i++)
        {
            statements.Add(new Statement("INSERT INTO orders VALUES (?, ?)", [i, "c" + (i % 13)]));
            statements.Add(new Statement("INSERT INTO lines VALUES (?, ?, ?)", [i * 2, i, "a"]));
            statements.Add(new Statement("INSERT INTO lines VALUES (?, ?, ?)", [(i * 2) + 1, i, "b"]));
        }

        await orders.BatchAsync(new BatchRequest(statements));

        await host.Registry("orders").ShardAsync(new ShardRequest("customer", 3));

        long lines = 0;
        for (var i = 0; i < 3; i++)
        {
            var shard = host.Shard(Tenant, $"orders__s{i}");
            var orphans = await shard.QueryAsync(new QueryRequest("SELECT count(*) FROM lines l LEFT JOIN orders o ON o.id = l.order_id WHERE o.id IS NULL"));
            Assert.Equal(0, orphans.Rows[0][0].AsInteger);
            lines += (await shard.QueryAsync(new QueryRequest("SELECT count(*) FROM lines"))).Rows[0][0].AsInteger;
        }

        Assert.Equal(400, lines);
    }

    [Fact]
    public async Task UnshardAsync_restores_every_row_and_removes_registry_and_files()
    {
        await using var host = await ShardTestHost.StartAsync();
        var items = await CreateItemsAsync(host, 1500);
        var before = await DumpAsync(items, "items");
        await host.Registry("items").ShardAsync(new ShardRequest("org", 5));
        await items.MutateAsync(new MutationRequest("UPDATE items SET price = -1 WHERE org = ?", ["org1"], ShardKey: "org1"));
        var expected = await DumpAsync(items, "items");
        Assert.NotEqual(before, expected);

        var result = await host.Registry("items").UnshardAsync();

        Assert.Equal(1500, result.RowCount);
        Assert.Equal(1500, result.RowsMoved);
        Assert.Equal(5, result.ShardsMerged);
        Assert.False(await host.Registry("items").IsShardedAsync());
        Assert.Equal(expected, await DumpAsync(items, "items"));
        Assert.False(File.Exists(ShardFile(host, "items__s0")));
        await items.MutateAsync(new MutationRequest("DELETE FROM items WHERE id = 1"));
        var notSharded = await Assert.ThrowsAsync<ShardException>(() => host.Registry("items").UnshardAsync());
        Assert.Contains("not sharded", notSharded.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RebalanceAsync_hash_moves_close_to_the_minimum_when_count_grows_and_shrinks()
    {
        await using var host = await ShardTestHost.StartAsync();
        const int Rows = 6000;
        var table = host.Shard(Tenant, "users");
        await table.DdlAsync(new DdlRequest("CREATE TABLE users(id INTEGER PRIMARY KEY, name TEXT)"));
        for (var start = 0; start < Rows; start += 1000)
        {
            await table.BatchAsync(new BatchRequest([.. Enumerable.Range(start, 1000).Select(i => new Statement("INSERT INTO users VALUES (?, ?)", [i, "u" + i]))]));
        }

        var before = await DumpAsync(table, "users");
        await host.Registry("users").ShardAsync(new ShardRequest("id", 4));

        var grown = await host.Registry("users").RebalanceAsync(new RebalanceRequest(TargetCount: 5));

        var minimum = Rows / 5.0;
        Assert.InRange(grown.RowsMoved, minimum * 0.85, minimum * 1.15);
        Assert.Equal(5, grown.Shards.Count);
        Assert.Equal(Rows, grown.After.Total);
        Assert.Contains("users__s4", grown.ModifiedShards);
        Assert.Equal(grown.RowsMoved, grown.Shards.Single(s => s.Index == 4).RowCount);
        Assert.Equal(before, await DumpAsync(table, "users"));

        var shrunk = await host.Registry("users").RebalanceAsync(new RebalanceRequest(TargetCount: 4));

        Assert.Equal(grown.Shards.Single(s => s.Index == 4).RowCount, shrunk.RowsMoved);
        Assert.Equal(4, shrunk.Shards.Count);
        Assert.Contains("users__s4", shrunk.ModifiedShards);
        Assert.False(File.Exists(ShardFile(host, "users__s4")));
        Assert.Equal(before, await DumpAsync(table, "users"));
        for (var i = 0; i < 4; i++)
        {
            var rows = await host.Shard(Tenant, $"users__s{i}").QueryAsync(new QueryRequest("SELECT id FROM users"));
            Assert.All(rows.Rows, r => Assert.Equal(i, ShardHashing.Bucket(r[0], 4)));
        }
    }

    [Fact]
    public async Task RebalanceAsync_range_full_evens_out_skew_and_skips_within_max_skew()
    {
        await using var host = await ShardTestHost.StartAsync();
        var items = await CreateItemsAsync(host, 800);
        await host.Registry("items").ShardAsync(new ShardRequest("id", 4, "range"));
        await InsertItemsAsync(items, "items", 10_000, 800, shardKey: 10_000);

        var skipped = await host.Registry("items").RebalanceAsync(new RebalanceRequest(MaxSkew: 10));
        Assert.True(skipped.Skipped);
        Assert.Equal(0, skipped.RowsMoved);

        var result = await host.Registry("items").RebalanceAsync(new RebalanceRequest(Strategy: "full"));

        Assert.True(result.Before.SkewRatio > 2);
        Assert.InRange(result.After.SkewRatio, 1, 1.01);
        Assert.True(result.RowsMoved > 0);
        Assert.NotEmpty(result.ModifiedShards);
        Assert.Equal(1600, result.After.Total);
        Assert.Equal(1600, (await DumpAsync(items, "items")).Count);
        var bad = await Assert.ThrowsAsync<ShardException>(() => host.Registry("items").RebalanceAsync(new RebalanceRequest(Strategy: "sideways")));
        Assert.Equal(ShardErrorCode.InvalidArgument, bad.Code);
    }

    [Fact]
    public async Task RebalanceAsync_roundRobin_incremental_keeps_keys_findable()
    {
        await using var host = await ShardTestHost.StartAsync();
        var items = await CreateItemsAsync(host, 800);
        await host.Registry("items").ShardAsync(new ShardRequest("org", 4, "roundRobin"));

        var result = await host.Registry("items").RebalanceAsync(new RebalanceRequest(TargetCount: 5));

        Assert.Equal(800, result.After.Total);
        Assert.Equal(160, result.RowsMoved);
        Assert.All(result.Shards, s => Assert.Equal(160, s.RowCount));
        foreach (var org in Orgs)
        {
            var keyed = await items.QueryAsync(new QueryRequest("SELECT count(*) FROM items WHERE org = ?", [org], ShardKey: org));
            Assert.Equal(20, keyed.Rows[0][0].AsInteger);
        }
    }

    [Fact]
    public async Task QueryShardsAsync_avg_is_exact_when_shards_differ_in_size()
    {
        await using var host = await ShardTestHost.StartAsync();
        var table = host.Shard(Tenant, "scores");
        await table.DdlAsync(new DdlRequest("CREATE TABLE scores(id INTEGER PRIMARY KEY, v REAL)"));
        await table.BatchAsync(new BatchRequest([.. Enumerable.Range(0, 100).Select(i => new Statement("INSERT INTO scores VALUES (?, ?)", [i, (double)(i * i % 97)]))]));
        await host.Registry("scores").ShardAsync(new ShardRequest("id", 4, "range"));
        await table.MutateAsync(new MutationRequest("DELETE FROM scores WHERE id < 20", ShardKey: 0));
        var truth = (await table.QueryAsync(new QueryRequest("SELECT v FROM scores"))).Rows.Select(r => r[0].AsReal).ToList();
        var perShard = (await table.QueryAsync(new QueryRequest("SELECT avg(v) FROM scores"))).Rows.Select(r => r[0].AsReal).ToList();

        var result = await host.Registry("scores").QueryShardsAsync(new ShardQueryRequest("SELECT v FROM scores", Aggregation: "avg"));

        Assert.Equal(truth.Average(), result.Value!.Value.AsReal, 9);
        Assert.NotEqual(perShard.Average(), result.Value!.Value.AsReal, 6);
        Assert.Equal(80, result.TotalItems);
        Assert.Equal(4, result.Shards.Count);
        Assert.Equal(truth.Sum(), result.Shards.Sum(s => s.Sum!.Value), 6);
    }

    [Fact]
    public async Task QueryShardsAsync_combines_by_concat_merge_sum_and_count()
    {
        await using var host = await ShardTestHost.StartAsync();
        await CreateItemsAsync(host, 400);
        var registry = host.Registry("items");
        await registry.ShardAsync(new ShardRequest("org", 4));

        var concat = await registry.QueryShardsAsync(new ShardQueryRequest("SELECT org FROM items WHERE price < ?", [100.0], "concat"));
        var merge = await registry.QueryShardsAsync(new ShardQueryRequest("SELECT DISTINCT 'same' FROM items", Aggregation: "merge"));
        var sum = await registry.QueryShardsAsync(new ShardQueryRequest("SELECT sum(price), count(*) FROM items", Aggregation: "sum"));
        var count = await registry.QueryShardsAsync(new ShardQueryRequest("SELECT * FROM items WHERE org = ?", ["org2"], "count"));

        Assert.Equal(100, concat.Rows.Count);
        Assert.Equal(100, concat.TotalItems);
        Assert.Single(merge.Rows);
        Assert.Equal(Enumerable.Range(0, 400).Sum(i => (double)i), sum.Rows[0][0].AsReal);
        Assert.Equal(400, sum.Rows[0][1].AsInteger);
        Assert.Equal(10, count.Value!.Value.AsInteger);
        Assert.All(concat.Shards, s => Assert.Null(s.Error));

        var failing = await registry.QueryShardsAsync(new ShardQueryRequest("SELECT nope FROM items", ContinueOnError: true));
        Assert.All(failing.Shards, s => Assert.Equal("SQL_ERROR", s.ErrorCode));
        var thrown = await Assert.ThrowsAsync<ShardException>(() => registry.QueryShardsAsync(new ShardQueryRequest("SELECT nope FROM items")));
        Assert.Equal(ShardErrorCode.SqlError, thrown.Code);
        var unknown = await Assert.ThrowsAsync<ShardException>(() => registry.QueryShardsAsync(new ShardQueryRequest("SELECT 1", Aggregation: "median")));
        Assert.Equal(ShardErrorCode.InvalidArgument, unknown.Code);
    }

    [Fact]
    public async Task The_sum_aggregation_answers_what_SQLites_sum_over_one_table_of_all_the_rows_answers()
    {
        await using var host = await ShardTestHost.StartAsync();

        // The same 40 rows in a table sharded 4 ways and in one left whole (the truth). Column t holds TEXT reading as an
        // integer, TEXT that is no number and NULL; x mixes REAL, INTEGER, numeric TEXT and a BLOB; n is all NULL.
        var rows = Enumerable.Range(0, 40).Select(id => new SqlValue[]
        {
            id,
            "o" + (id % 8),
            id * 1000L,
            (id % 3) switch { 0 => "12", 1 => "abc", _ => SqlValue.Null },
            SqlValue.Null,
            (id % 4) switch { 0 => 0.5, 1 => 7, 2 => "2.25", _ => new byte[] { 1, 2 } },
        }).ToList();
        foreach (var table in new[] { "mixed", "whole" })
        {
            var shard = host.Shard(Tenant, table);
            await shard.DdlAsync(new DdlRequest($"CREATE TABLE {table}(id INTEGER PRIMARY KEY, org TEXT NOT NULL, i INTEGER, t TEXT, n, x)"));
            await shard.BatchAsync(new BatchRequest(rows.Select(r => new Statement($"INSERT INTO {table} VALUES (?, ?, ?, ?, ?, ?)", r)).ToList()));
        }

        await host.Registry("mixed").ShardAsync(new ShardRequest("org", 4));
        var sum = await host.Registry("mixed").QueryShardsAsync(new ShardQueryRequest("SELECT i, t, n, x FROM mixed", Aggregation: ShardAggregations.Sum));
        var truth = (await host.Shard(Tenant, "whole").QueryAsync(new QueryRequest("SELECT sum(i), sum(t), sum(n), sum(x) FROM whole"))).Rows[0];

        Assert.Equal([SqlValueKind.Integer, SqlValueKind.Real, SqlValueKind.Null, SqlValueKind.Real], truth.Select(v => v.Kind));
        Assert.Equal(truth, sum.Rows[0]);
        Assert.Equal(4, sum.Shards.Count);

        // Past 64 bits: SQLite's sum() fails ("integer overflow"), and so does the sum across the partitions, whose own
        // sums each fit.
        foreach (var table in new[] { "huge", "hugewhole" })
        {
            var shard = host.Shard(Tenant, table);
            await shard.DdlAsync(new DdlRequest($"CREATE TABLE {table}(id INTEGER PRIMARY KEY, org TEXT NOT NULL, big INTEGER)"));
            await shard.BatchAsync(new BatchRequest(Enumerable.Range(0, 8).Select(id => new Statement($"INSERT INTO {table} VALUES (?, ?, ?)", [id, "o" + id, 1L << 60])).ToList()));
        }

        await host.Registry("huge").ShardAsync(new ShardRequest("org", 4));
        var whole = await Assert.ThrowsAsync<ShardException>(() => host.Shard(Tenant, "hugewhole").QueryAsync(new QueryRequest("SELECT sum(big) FROM hugewhole")));
        var across = await Assert.ThrowsAsync<ShardException>(() => host.Registry("huge").QueryShardsAsync(new ShardQueryRequest("SELECT big FROM huge", Aggregation: ShardAggregations.Sum)));
        Assert.Equal(ShardErrorCode.SqlError, whole.Code);
        Assert.Equal(whole.Code, across.Code);
        Assert.Contains("integer overflow", across.Message, StringComparison.Ordinal);
        var partials = await host.Registry("huge").QueryShardsAsync(new ShardQueryRequest("SELECT sum(big) FROM huge", Aggregation: ShardAggregations.Concat));
        Assert.All(partials.Rows, r => Assert.Equal(SqlValueKind.Integer, r[0].Kind));
    }

    [Fact]
    public async Task A_ddl_creating_virtual_tables_applies_to_every_partition_of_a_sharded_table()
    {
        // The base table checks the DDL first by running it and rolling it back: a virtual table's shadow tables, filled by
        // its CREATE and gone with the rollback, made that check fail as INTERNAL.
        await using var host = await ShardTestHost.StartAsync();
        var items = await CreateItemsAsync(host, 100);
        await host.Registry("items").ShardAsync(new ShardRequest("org", 2));

        await items.DdlAsync(new DdlRequest("CREATE VIRTUAL TABLE notes USING fts5(body); CREATE VIRTUAL TABLE boxes USING rtree(id, x0, x1)"));

        var counts = await host.Registry("items").QueryShardsAsync(new ShardQueryRequest("SELECT (SELECT count(*) FROM notes) + (SELECT count(*) FROM boxes)", Aggregation: ShardAggregations.Sum));
        Assert.All(counts.Shards, s => Assert.Null(s.Error));
        Assert.Equal(2, counts.Shards.Count);
        Assert.Equal(0, counts.Rows[0][0].AsInteger);

        // A file already holding a virtual table is sharded and unsharded: the partitions get the virtual table from its
        // CREATE VIRTUAL TABLE, not its shadow tables by name (refused: "object name reserved for internal use").
        var docs = await CreateItemsAsync(host, 100, "docs");
        await docs.DdlAsync(new DdlRequest("CREATE VIRTUAL TABLE words USING fts5(body)"));
        await host.Registry("docs").ShardAsync(new ShardRequest("org", 2));
        var partitions = await host.Registry("docs").QueryShardsAsync(new ShardQueryRequest("SELECT count(*) FROM words", Aggregation: ShardAggregations.Sum));
        Assert.All(partitions.Shards, s => Assert.Null(s.Error));
        Assert.Equal(2, partitions.Shards.Count);
        var merged = await host.Registry("docs").UnshardAsync();
        Assert.Equal(100, merged.RowCount);
        Assert.Equal(100, (await docs.QueryAsync(new QueryRequest("SELECT count(*) FROM docs"))).Rows[0][0].AsInteger);
    }

    [Fact]
    public async Task Sharding_is_refused_while_the_file_holds_rows_of_another_table_that_would_not_move_with_it()
    {
        // Rows of a table that is neither the sharded one nor its child would stay in the base file, out of sight of the
        // reads that go to the partitions (and rows written there later would not survive an unshard).
        await using var host = await ShardTestHost.StartAsync();
        var items = await CreateItemsAsync(host, 50);
        await items.DdlAsync(new DdlRequest("CREATE TABLE notes(id INTEGER PRIMARY KEY, body TEXT)"));
        await items.MutateAsync(new MutationRequest("INSERT INTO notes(body) VALUES ('kept')"));

        var refused = await Assert.ThrowsAsync<ShardException>(() => host.Registry("items").ShardAsync(new ShardRequest("org", 2)));
        Assert.Equal(ShardErrorCode.InvalidArgument, refused.Code);
        Assert.Contains("notes", refused.Message, StringComparison.Ordinal);
        Assert.False(await host.Registry("items").IsShardedAsync());
        Assert.Equal("kept", (await items.QueryAsync(new QueryRequest("SELECT body FROM notes"))).Rows[0][0].AsText);

        // Emptied, the table is only schema: every partition gets it, and the sharding goes ahead.
        await items.MutateAsync(new MutationRequest("DELETE FROM notes"));
        await host.Registry("items").ShardAsync(new ShardRequest("org", 2));
        Assert.True(await host.Registry("items").IsShardedAsync());

        // Rows written to that table in the partitions (with shard keys) would be lost with a partition: unshard and a
        // rebalance to fewer partitions are refused, and go ahead once they are gone.
        var keys = Enumerable.Range(0, 40).Select(i => "org" + i).ToList();
        await host.Registry("items").RebalanceAsync(new RebalanceRequest(TargetCount: 3));
        foreach (var key in keys)
        {
            await items.MutateAsync(new MutationRequest("INSERT INTO notes(body) VALUES (?)", [key], ShardKey: key));
        }

        var unshard = await Assert.ThrowsAsync<ShardException>(() => host.Registry("items").UnshardAsync());
        Assert.Equal(ShardErrorCode.InvalidArgument, unshard.Code);
        Assert.Contains("notes", unshard.Message, StringComparison.Ordinal);
        var shrink = await Assert.ThrowsAsync<ShardException>(() => host.Registry("items").RebalanceAsync(new RebalanceRequest(TargetCount: 2)));
        Assert.Equal(ShardErrorCode.InvalidArgument, shrink.Code);
        Assert.Equal(40, (await host.Registry("items").QueryShardsAsync(new ShardQueryRequest("SELECT body FROM notes"))).Rows.Count);

        foreach (var key in keys)
        {
            await items.MutateAsync(new MutationRequest("DELETE FROM notes WHERE body = ?", [key], ShardKey: key));
        }

        var merged = await host.Registry("items").UnshardAsync();
        Assert.Equal(50, merged.RowCount);
    }

    [Fact]
    public async Task DiscoverAsync_reports_registry_and_health_of_each_shard()
    {
        await using var host = await ShardTestHost.StartAsync();
        await CreateItemsAsync(host, 300);
        Assert.False((await host.Registry("items").DiscoverAsync()).Sharded);
        await host.Registry("items").ShardAsync(new ShardRequest("org", 3));

        var discovery = await host.Registry("items").DiscoverAsync();

        Assert.True(discovery.Sharded);
        Assert.Equal(3, discovery.Registry!.Count);
        Assert.All(discovery.Shards, s =>
        {
            Assert.Equal("healthy", s.Status);
            Assert.True(s.ResponseTimeMs >= 0);
            Assert.True(s.SizeBytes > 0);
        });
        Assert.Equal(300, discovery.Stats!.Total);
        Assert.Null(discovery.Operation);
    }

    [Fact]
    public async Task ShardAsync_publishes_and_records_started_and_completed_with_one_correlation_id()
    {
        await using var host = await ShardTestHost.StartAsync();
        await CreateItemsAsync(host, 50);
        var received = new List<ShardEvent>();
        var provider = host.Services.GetKeyedService<IStreamProvider>("default")!;
        var completed = new TaskCompletionSource();
        var subscription = await provider.GetStream<ShardEvent>(StreamId.Create(ShardEvents.StreamNamespace, ShardName.Format(Tenant, "items")))
            .SubscribeAsync(new Observer(e =>
            {
                lock (received)
                {
                    received.Add(e);
                }

                if (e.Type == ShardEvents.Completed)
                {
                    completed.TrySetResult();
                }
            }));

        var result = await host.Registry("items").ShardAsync(new ShardRequest("org", 2));
        await completed.Task.WaitAsync(TimeSpan.FromSeconds(10));

        lock (received)
        {
            Assert.Equal([ShardEvents.Started, ShardEvents.Completed], received.Select(e => e.Type));
            Assert.All(received, e => Assert.Equal(result.CorrelationId, e.CorrelationId));
        }

        var stored = await host.ShardHost("items").ReadInternalAsync("SELECT type, correlation_id FROM _events ORDER BY id", []);
        Assert.Equal([ShardEvents.Started, ShardEvents.Completed], stored.Select(r => r[0].AsText));
        Assert.All(stored, r => Assert.Equal(result.CorrelationId, r[1].AsText));
    }

    [Fact]
    public async Task DdlAsync_applies_to_every_shard_and_transactions_are_refused_when_sharded()
    {
        await using var host = await ShardTestHost.StartAsync();
        var items = await CreateItemsAsync(host, 100);
        await host.Registry("items").ShardAsync(new ShardRequest("org", 2));

        await items.DdlAsync(new DdlRequest("ALTER TABLE items ADD COLUMN note TEXT"));

        await items.MutateAsync(new MutationRequest("UPDATE items SET note = 'x' WHERE org = ?", ["org1"], ShardKey: "org1"));
        var notes = await items.QueryAsync(new QueryRequest("SELECT count(note) FROM items"));
        Assert.Equal(3, notes.Rows.Sum(r => r[0].AsInteger));
        var tx = await Assert.ThrowsAsync<ShardException>(() => items.TransactionAsync(new TransactionRequest(TransactionOperation.Begin)));
        Assert.Equal(ShardErrorCode.InvalidArgument, tx.Code);
    }

    private sealed class ModuloRouter : IShardRouter
    {
        public int GetShard(SqlValue key, int shardCount) => (int)(key.AsInteger % shardCount);
    }

    private sealed class Observer(Action<ShardEvent> onNext) : IAsyncObserver<ShardEvent>
    {
        public Task OnNextAsync(ShardEvent item, StreamSequenceToken? token = null)
        {
            onNext(item);
            return Task.CompletedTask;
        }

        public Task OnCompletedAsync() => Task.CompletedTask;

        public Task OnErrorAsync(Exception ex) => Task.CompletedTask;
    }

    [Fact]
    public async Task ShardAsync_raises_retryable_OPERATION_IN_PROGRESS_when_another_operation_holds_the_table()
    {
        // Issue 15 item 11: "a sharding operation is already running" is a 409 conflict to retry, not a bad argument.
        await using var host = await ShardTestHost.StartAsync();
        await CreateItemsAsync(host, 50);
        host.Faults().OnStep = step => throw new SimulatedCrashException(step); // abandons the first operation at "copy"
        await Assert.ThrowsAnyAsync<Exception>(() => host.Registry("items").ShardAsync(new ShardRequest("org", 2)));
        host.Faults().OnStep = null;

        var busy = await Assert.ThrowsAsync<ShardException>(() => host.Registry("items").ShardAsync(new ShardRequest("org", 2)));

        Assert.Equal(ShardErrorCode.OperationInProgress, busy.Code);
        Assert.True(busy.Retryable);
    }
}
