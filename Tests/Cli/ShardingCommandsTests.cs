using System.Text.Json;
using OrleansShards.Cli;
using OrleansShards.Client;
using OrleansShards.Tests.Infrastructure;

namespace OrleansShards.Tests.Cli;

/// <summary>
/// The sharding commands of <c>shards</c> (shard, discover, query-shards, rebalance, unshard) run in-process against a real
/// silo on Kestrel: output and exit codes.
/// </summary>
[Collection(KestrelSiloCollection.Name)]
public sealed class ShardingCommandsTests(SharedKestrelSilo silo)
{
    private const int Rows = 60;

    private readonly string _tenant = "clis" + Guid.NewGuid().ToString("N")[..10];

    private sealed record Run(int Exit, string Out, string Err);

    private async Task<Run> ShardsAsync(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var env = new Dictionary<string, string> { ["SHARDS_URL"] = silo.Url.AbsoluteUri, ["SHARDS_TENANT"] = _tenant };
        var exit = await ShardsCli.RunAsync(args, CliContext.ForWriters(output, error, null, env));
        return new Run(exit, output.ToString(), error.ToString());
    }

    /// <summary><c>orders(id, customer, total)</c>: 60 rows, customers c0..c5, total = id + 0.5.</summary>
    private async Task CreateOrdersAsync()
    {
        using var client = new ShardsClient(new ShardsClientOptions { Endpoints = [silo.Url] });
        var orders = client.GetTable(_tenant, "orders");
        await orders.DdlAsync(new DdlRequest("CREATE TABLE orders(id INTEGER PRIMARY KEY, customer TEXT NOT NULL, total REAL)"));
        await orders.BatchAsync(new BatchRequest([.. Enumerable.Range(0, Rows).Select(i => new Statement("INSERT INTO orders VALUES (?, ?, ?)", [i, "c" + (i % 6), i + 0.5]))]));
    }

    private static bool HasLine(string text, params string[] parts) =>
        text.Split('\n').Any(line => parts.All(p => line.Contains(p, StringComparison.Ordinal)));

    [Fact]
    public async Task Shard_prints_the_shards_and_discover_shows_each_shard_healthy()
    {
        await CreateOrdersAsync();

        var shard = await ShardsAsync("shard", "--key", "customer", "--count", "3", "--strategy", "hash", "--table", "orders");
        var discover = await ShardsAsync("discover", "--table", "orders");
        var json = await ShardsAsync("discover", "--table", "orders", "--json");

        Assert.True(shard.Exit == 0, shard.Err);
        Assert.Contains("Sharding into 3 by customer (hash)…", shard.Out, StringComparison.Ordinal);
        Assert.Contains($"sharded into 3 shards by customer (hash): {Rows} rows moved in ", shard.Out, StringComparison.Ordinal);
        Assert.True(HasLine(shard.Out, "│ orders__s0", "│ 0 "), shard.Out);
        Assert.True(HasLine(shard.Out, "│ orders__s2", "│ 2 "), shard.Out);
        Assert.Contains("distribution: total 60, min ", shard.Out, StringComparison.Ordinal);
        Assert.Empty(shard.Err);
        Assert.True(discover.Exit == 0, discover.Err);
        Assert.True(HasLine(discover.Out, "strategy", "hash"), discover.Out);
        Assert.True(HasLine(discover.Out, "key", "customer"), discover.Out);
        Assert.True(HasLine(discover.Out, "│ shard", "│ status", "│ response"), discover.Out);
        Assert.Equal(3, discover.Out.Split('\n').Count(l => l.Contains("│ orders__s", StringComparison.Ordinal) && l.Contains("│ healthy", StringComparison.Ordinal)));
        Assert.Contains("3 of 3 shards healthy", discover.Out, StringComparison.Ordinal);
        var root = JsonDocument.Parse(json.Out).RootElement;
        Assert.True(root.GetProperty("sharded").GetBoolean());
        Assert.Equal(Rows, root.GetProperty("stats").GetProperty("total").GetInt64());
        Assert.All(root.GetProperty("shards").EnumerateArray(), s => Assert.Equal("healthy", s.GetProperty("status").GetString()));
    }

    [Fact]
    public async Task Shard_with_json_prints_the_answer_as_json()
    {
        await CreateOrdersAsync();

        var run = await ShardsAsync("shard", "--key", "customer", "--count", "2", "--strategy", "range", "--table", "orders", "--json");

        Assert.True(run.Exit == 0, run.Err);
        var root = JsonDocument.Parse(run.Out).RootElement;
        Assert.Equal(2, root.GetProperty("shards").GetArrayLength());
        Assert.Equal("range", root.GetProperty("registry").GetProperty("strategy").GetString());
        Assert.Equal(Rows, root.GetProperty("rowsMoved").GetInt64());
    }

    [Fact]
    public async Task Query_shards_prints_the_exact_avg_rows_and_one_line_per_shard()
    {
        await CreateOrdersAsync();
        await ShardsAsync("shard", "--key", "customer", "--count", "3", "--table", "orders");

        var avg = await ShardsAsync("query-shards", "SELECT total FROM orders", "--aggregation", "avg", "--table", "orders");
        var avgJson = await ShardsAsync("query-shards", "SELECT total FROM orders", "--aggregation", "avg", "--table", "orders", "--json");
        var concat = await ShardsAsync("query-shards", "SELECT id, customer FROM orders WHERE id < ?", "-p", "3", "--table", "orders");
        var count = await ShardsAsync("query-shards", "SELECT * FROM orders WHERE customer = ?", "-p", "c2", "--aggregation", "count", "--table", "orders");

        var expected = Enumerable.Range(0, Rows).Average(i => i + 0.5);
        Assert.True(avg.Exit == 0, avg.Err);
        Assert.StartsWith("avg: 30", avg.Out, StringComparison.Ordinal);
        Assert.Equal(expected, JsonDocument.Parse(avgJson.Out).RootElement.GetProperty("value").GetDouble(), 12);
        Assert.Equal(3, avg.Out.Split('\n').Count(l => l.Contains("│ orders__s", StringComparison.Ordinal)));
        Assert.Contains($"{Rows} items from 3 shards in ", avg.Out, StringComparison.Ordinal);
        Assert.True(concat.Exit == 0, concat.Err);
        Assert.True(HasLine(concat.Out, "│ id", "│ customer"), concat.Out);
        Assert.True(HasLine(concat.Out, "│ 2 ", "│ c2 "), concat.Out);
        Assert.Contains("3 items from 3 shards", concat.Out, StringComparison.Ordinal);
        Assert.True(count.Exit == 0, count.Err);
        Assert.StartsWith("count: 10", count.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Rebalance_moves_rows_and_unshard_merges_every_row_back()
    {
        await CreateOrdersAsync();
        await ShardsAsync("shard", "--key", "customer", "--count", "2", "--table", "orders");

        var rebalance = await ShardsAsync("rebalance", "--target-count", "4", "--table", "orders");
        var skipped = await ShardsAsync("rebalance", "--max-skew", "100", "--strategy", "full", "--table", "orders");
        var unshard = await ShardsAsync("unshard", "--table", "orders");
        var discover = await ShardsAsync("discover", "--table", "orders");
        var rows = await ShardsAsync("query", "SELECT count(*), sum(total) FROM orders", "--table", "orders", "--json");

        Assert.True(rebalance.Exit == 0, rebalance.Err);
        Assert.Matches("moved [1-9][0-9]* rows? into 4 shards in ", rebalance.Out);
        Assert.True(HasLine(rebalance.Out, "│ orders__s3", "│ yes"), rebalance.Out);
        Assert.Contains("after:  total 60,", rebalance.Out, StringComparison.Ordinal);
        Assert.True(skipped.Exit == 0, skipped.Err);
        Assert.Contains("Rebalancing into 4 shards (incremental)…", rebalance.Out, StringComparison.Ordinal);
        Assert.Contains("\nnothing to move: 4 shards, total 60", skipped.Out, StringComparison.Ordinal);
        Assert.True(unshard.Exit == 0, unshard.Err);
        Assert.Contains("Merging the shards…", unshard.Out, StringComparison.Ordinal);
        Assert.Contains($"merged 4 shards back: {Rows} rows in the table", unshard.Out, StringComparison.Ordinal);
        Assert.Equal("not sharded", discover.Out.Trim());
        var row = JsonDocument.Parse(rows.Out).RootElement.GetProperty("rows")[0];
        Assert.Equal(Rows, row[0].GetInt64());
        Assert.Equal(Enumerable.Range(0, Rows).Sum(i => i + 0.5), row[1].GetDouble());
    }

    [Fact]
    public async Task Sharding_commands_exit_2_naming_the_code_when_the_silo_refuses()
    {
        await CreateOrdersAsync();

        var unshard = await ShardsAsync("unshard", "--table", "orders");
        var query = await ShardsAsync("query-shards", "SELECT 1", "--table", "orders");
        var badKey = await ShardsAsync("shard", "--key", "nope", "--count", "2", "--table", "orders");
        var rebalance = await ShardsAsync("rebalance", "--target-count", "2", "--table", "orders");

        Assert.All([unshard, query, badKey, rebalance], run =>
        {
            Assert.Equal(2, run.Exit);
            Assert.StartsWith("error: INVALID_ARGUMENT: ", run.Err, StringComparison.Ordinal);
        });
        Assert.Contains("nope", badKey.Err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Sharding_commands_exit_1_when_the_command_line_is_wrong()
    {
        var noCount = await ShardsAsync("shard", "--key", "customer", "--table", "orders");
        var noKey = await ShardsAsync("shard", "--count", "2", "--table", "orders");
        var badStrategy = await ShardsAsync("shard", "--key", "customer", "--count", "2", "--strategy", "modulo", "--table", "orders");
        var badAggregation = await ShardsAsync("query-shards", "SELECT 1", "--aggregation", "median", "--table", "orders");
        var badRebalance = await ShardsAsync("rebalance", "--strategy", "partial", "--table", "orders");
        var noTable = await ShardsAsync("discover");

        Assert.All([noCount, noKey, badStrategy, badAggregation, badRebalance, noTable], run => Assert.Equal(1, run.Exit));
        Assert.Contains("--count", noCount.Err, StringComparison.Ordinal);
        Assert.Contains("--key", noKey.Err, StringComparison.Ordinal);
        Assert.Contains("modulo", badStrategy.Err, StringComparison.Ordinal);
        Assert.Contains("median", badAggregation.Err, StringComparison.Ordinal);
        Assert.Contains("partial", badRebalance.Err, StringComparison.Ordinal);
        Assert.Contains("--table", noTable.Err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Discover_exits_3_naming_the_url_when_the_silo_cannot_be_reached()
    {
        var url = $"http://127.0.0.1:{OrleansShards.Tests.Client.ShardsHttpTransportTests.ClosedLoopbackPort()}";

        var run = await ShardsAsync("discover", "--table", "orders", "--url", url);

        Assert.Equal(3, run.Exit);
        Assert.Contains($"cannot reach the silo at {url}", run.Err, StringComparison.Ordinal);
    }
}
