using System.Diagnostics;
using OrleansShards.Grains.Hosting;
using OrleansShards.Tests.Infrastructure;
using OrleansShards.Tests.TableShards;

namespace OrleansShards.Tests.Containment;

/// <summary>Issue 15 item 6: a runaway write holds its shard's writer only for the write timeout, not the statement timeout.</summary>
public sealed class WriteStatementTimeoutTests
{
    private const string Endless = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c) SELECT 'n' || x FROM c";

    [Fact]
    public void WriteStatementTimeout_defaults_shorter_than_the_statement_timeout()
    {
        var options = new TableShardOptions();
        Assert.Equal(TimeSpan.FromSeconds(5), options.WriteStatementTimeout);
        Assert.True(options.WriteStatementTimeout < options.StatementTimeout);
    }

    [Fact]
    public async Task MutateAsync_raises_timeout_after_the_write_timeout_when_the_statement_timeout_is_long()
    {
        await using var host = await ShardTestHost.StartAsync(o =>
        {
            o.StatementTimeout = TimeSpan.FromMinutes(10);
            o.WriteStatementTimeout = TimeSpan.FromMilliseconds(200);
        });
        var shard = host.Shard("wto", "items");
        await shard.DdlAsync(new DdlRequest("CREATE TABLE items(name TEXT)"));

        var watch = Stopwatch.StartNew();
        // Bounded so that a write held for the statement timeout fails the test instead of hanging it.
        await ShardAssert.FailsWith(ShardErrorCode.Timeout,
            () => shard.MutateAsync(new MutationRequest("INSERT INTO items(name) " + Endless)).WaitAsync(TimeSpan.FromSeconds(30)));
        await ShardAssert.FailsWith(ShardErrorCode.Timeout,
            () => shard.BatchAsync(new BatchRequest([new Statement("INSERT INTO items(name) VALUES ('a')"), new Statement("INSERT INTO items(name) " + Endless)]))
                .WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(30), $"the runaway writes held the writer for {watch.Elapsed}");

        // The writer is free again, nothing of the interrupted writes was kept, and reads keep the statement timeout.
        await shard.MutateAsync(new MutationRequest("INSERT INTO items(name) VALUES ('after')"));
        Assert.Equal(1, await ShardAssert.CountAsync(shard));
        var slowRead = await shard.QueryAsync(new QueryRequest(
            "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x < 3000000) SELECT count(*) FROM c"));
        Assert.Equal(3_000_000, slowRead.Rows[0][0].AsInteger);
    }
}
