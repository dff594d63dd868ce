using Microsoft.Extensions.DependencyInjection;
using OrleansShards.Grains.Caching;
using OrleansShards.Tests.Infrastructure;
using OrleansShards.Tests.TableShards;

namespace OrleansShards.Tests.Containment;

/// <summary>
/// Issue 15 item 1 (remainder): the result cap (MaxResultRows, MaxResultBytes) holds for answers combined from several
/// partitions — a read without shardKey of a sharded table and /shards/query — and for cached answers.
/// </summary>
public sealed class ResultCapTests
{
    private const int MaxRows = 50;
    private const int MaxBytes = 4096;

    [Fact]
    public async Task Fan_out_reads_answer_result_too_large_when_the_partitions_together_pass_the_cap()
    {
        await using var host = await StartCappedAsync();
        var orders = host.Shard("cap", "orders");
        await orders.DdlAsync(new DdlRequest("CREATE TABLE orders(id INTEGER PRIMARY KEY, customer TEXT NOT NULL, note TEXT NOT NULL)"));
        await orders.BatchAsync(new BatchRequest([.. Enumerable.Range(1, 80).Select(i =>
            new Statement("INSERT INTO orders(id, customer, note) VALUES (?, ?, ?)", [i, "c" + i, new string('n', 100)]))]));
        await host.Grains.GetGrain<IShardRegistry>(ShardName.Format("cap", "orders")).ShardAsync(new ShardRequest("customer", 4));

        // Every partition holds about 20 rows (under 50) and 2 KB (under 4 KB); together they hold 80 rows and 8 KB.
        await ShardAssert.FailsWith(ShardErrorCode.ResultTooLarge, () => orders.QueryAsync(new QueryRequest("SELECT id FROM orders")));
        await ShardAssert.FailsWith(ShardErrorCode.ResultTooLarge, () => orders.QueryAsync(new QueryRequest("SELECT note FROM orders WHERE id <= 45")));
        var registry = host.Grains.GetGrain<IShardRegistry>(ShardName.Format("cap", "orders"));
        await ShardAssert.FailsWith(ShardErrorCode.ResultTooLarge, () => registry.QueryShardsAsync(new ShardQueryRequest("SELECT id FROM orders")));
        await ShardAssert.FailsWith(ShardErrorCode.ResultTooLarge,
            () => registry.QueryShardsAsync(new ShardQueryRequest("SELECT note FROM orders WHERE id <= 45", ContinueOnError: true)));

        // Under the cap, and aggregations that pass on one row, are answered.
        Assert.Equal(40, (await orders.QueryAsync(new QueryRequest("SELECT id FROM orders WHERE id <= 40"))).Rows.Count);
        var count = await registry.QueryShardsAsync(new ShardQueryRequest("SELECT id FROM orders", Aggregation: ShardAggregations.Count));
        Assert.Equal(80, count.Rows[0][0].AsInteger);
        var sum = await registry.QueryShardsAsync(new ShardQueryRequest("SELECT id FROM orders", Aggregation: ShardAggregations.Sum));
        Assert.Equal(80 * 81 / 2, sum.Rows[0][0].AsInteger);
    }

    [Fact]
    public async Task A_batch_answers_result_too_large_when_its_statements_together_pass_the_cap_and_nothing_of_it_stays()
    {
        await using var host = await StartCappedAsync();
        var items = host.Shard("capb", "items");
        await items.DdlAsync(new DdlRequest("CREATE TABLE items(id INTEGER PRIMARY KEY, note TEXT NOT NULL)"));

        // Each statement answers 3 KB (under 4 KB), the batch 6 KB; the insert between them is rolled back with it.
        var refused = await ShardAssert.FailsWith(ShardErrorCode.ResultTooLarge, () => items.BatchAsync(new BatchRequest([
            new Statement("SELECT zeroblob(3000)"),
            new Statement("INSERT INTO items(note) VALUES ('x') RETURNING id"),
            new Statement("SELECT zeroblob(3000)")])));
        Assert.StartsWith("Statement 2:", refused.Message, StringComparison.Ordinal);
        Assert.Equal(0, await ShardAssert.CountAsync(items, "items"));

        // Under the cap together, a batch is answered with every statement's rows.
        var answered = await items.BatchAsync(new BatchRequest([new Statement("SELECT zeroblob(1500)"), new Statement("SELECT zeroblob(1500)")]));
        Assert.Equal(2, answered.Results.Count);

        // Rows by count too: 30 + 30 rows (each under 50).
        const string Thirty = "WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 30) SELECT n FROM c";
        await ShardAssert.FailsWith(ShardErrorCode.ResultTooLarge, () => items.BatchAsync(new BatchRequest([new Statement(Thirty), new Statement(Thirty)])));
    }

    [Fact]
    public async Task Cached_answers_past_the_cap_are_not_served()
    {
        await using var host = await ShardTestHost.StartAsync(o => o.MaxResultRows = MaxRows);
        var items = host.Shard("capc", "items");
        await items.DdlAsync(new DdlRequest("CREATE TABLE items(id INTEGER PRIMARY KEY)"));
        await items.MutateAsync(new MutationRequest("INSERT INTO items(id) VALUES (1), (2), (3)"));
        var sequence = Bookmark.Parse((await items.GetBookmarkAsync(new BookmarkRequest())).Bookmark).Sequence;

        // An entry of this very query and version holding more rows than a statement may return now (written by a silo
        // with a larger cap, or before the cap was lowered).
        const string sql = "SELECT id FROM items";
        var store = host.Services.GetRequiredService<ICacheStore>();
        var oversized = CachedRows.Encode(["id"], [.. Enumerable.Range(0, 80).Select(i => new SqlValue[] { i })]);
        await store.SetManyAsync([new CacheWrite(
            CacheKeys.Query("capc", "items", sequence, CacheKeys.Hash(sql, null)), oversized, sequence, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), TimeSpan.FromMinutes(5))]);

        var answer = await items.QueryAsync(new QueryRequest(sql, Consistency: Consistency.Cached));
        Assert.Equal("shard", answer.Meta.ServedBy);
        Assert.Equal(3, answer.Rows.Count);
    }

    private static Task<ShardTestHost> StartCappedAsync() => ShardTestHost.StartAsync(o =>
    {
        o.MaxResultRows = MaxRows;
        o.MaxResultBytes = MaxBytes;
    });
}
