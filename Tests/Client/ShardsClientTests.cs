using OrleansShards.Client;
using OrleansShards.Tests.Infrastructure;

namespace OrleansShards.Tests.Client;

/// <summary>The HTTP-backed ITableShard against a real silo on Kestrel: every route, errors, API keys.</summary>
[Collection(KestrelSiloCollection.Name)]
public sealed class ShardsClientTests(SharedKestrelSilo silo, SecuredKestrelSilo secured) : IDisposable
{
    private readonly ShardsClient _client = new(new ShardsClientOptions { Endpoints = [silo.Url], RetryBaseDelay = TimeSpan.FromMilliseconds(5) });

    public sealed record Item(long Id, string Name, long Qty, double? Price);

    public void Dispose() => _client.Dispose();

    private static string NewTable() => "t" + Guid.NewGuid().ToString("N")[..12];

    /// <summary>A fresh tenant's <c>items</c> shard holding SQL table <c>items</c> (the row routes read the table named like the shard).</summary>
    private async Task<ITableShard> ItemsAsync()
    {
        var shard = _client.GetGrain<ITableShard>(ShardName.Format("acme" + NewTable(), "items"));
        await shard.DdlAsync(new DdlRequest("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL, qty INTEGER NOT NULL, price REAL)"));
        return shard;
    }

    [Fact]
    public async Task MutateAsync_and_QueryAsync_round_trip_typed_values_when_mapped_to_a_record()
    {
        var shard = await ItemsAsync();

        var insert = await shard.MutateAsync(new MutationRequest("INSERT INTO items (name, qty, price) VALUES (?, ?, ?)", ["apple", long.MaxValue, 1.25]));
        await shard.MutateAsync(new MutationRequest("INSERT INTO items (name, qty, price) VALUES (?, ?, ?)", ["pear", 2, SqlValue.Null]));
        var result = await shard.QueryAsync(new QueryRequest("SELECT id, name, qty, price FROM items ORDER BY id", Consistency: Consistency.Strong));

        Assert.Equal(1, insert.Changes);
        Assert.Equal(1, insert.LastInsertRowId);
        Assert.NotNull(insert.Bookmark);
        Assert.Equal(["id", "name", "qty", "price"], result.Columns);
        Assert.Equal("shard", result.Meta.ServedBy);
        Assert.Equal([new Item(1, "apple", long.MaxValue, 1.25), new Item(2, "pear", 2, null)], result.As<Item>());
    }

    [Fact]
    public async Task BatchAsync_applies_every_statement_or_none_when_one_fails()
    {
        var shard = await ItemsAsync();

        var ok = await shard.BatchAsync(new BatchRequest([
            new Statement("INSERT INTO items (name, qty) VALUES (?, ?)", ["a", 1]),
            new Statement("INSERT INTO items (name, qty) VALUES (?, ?) RETURNING id, name", ["b", 2]),
        ]));
        var failure = await Assert.ThrowsAsync<ShardException>(() => shard.BatchAsync(new BatchRequest([
            new Statement("INSERT INTO items (name, qty) VALUES (?, ?)", ["c", 3]),
            new Statement("INSERT INTO items (name, qty) VALUES (?, ?)", ["a", 4]),
        ])));
        var count = await shard.QueryAsync(new QueryRequest("SELECT count(*) FROM items"));

        Assert.Equal(2, ok.Results.Count);
        Assert.Equal(["b"], ok.Results[1].As<Item2>().Select(i => i.Name));
        Assert.Equal(ShardErrorCode.ConflictUnique, failure.Code);
        Assert.Equal([2L], count.As<long>());
    }

    public sealed record Item2(long Id, string Name);

    [Fact]
    public async Task TransactionAsync_queues_then_commits_atomically_and_rollback_drops()
    {
        var shard = await ItemsAsync();

        var begin = await shard.TransactionAsync(new TransactionRequest(TransactionOperation.Begin));
        var queued = await shard.MutateAsync(new MutationRequest("INSERT INTO items (name, qty) VALUES (?, ?)", ["x", 1], begin.TransactionId));
        var before = await shard.QueryAsync(new QueryRequest("SELECT count(*) FROM items"));
        var commit = await shard.TransactionAsync(new TransactionRequest(TransactionOperation.Commit, begin.TransactionId));
        var second = await shard.TransactionAsync(new TransactionRequest(TransactionOperation.Begin));
        await shard.MutateAsync(new MutationRequest("DELETE FROM items", TransactionId: second.TransactionId));
        var rollback = await shard.TransactionAsync(new TransactionRequest(TransactionOperation.Rollback, second.TransactionId));
        var after = await shard.QueryAsync(new QueryRequest("SELECT count(*) FROM items"));

        Assert.True(begin.ExpiresAtUnixMs > DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        Assert.True(queued.Queued);
        Assert.Null(queued.Bookmark);
        Assert.Equal([0L], before.As<long>());
        Assert.Equal(begin.TransactionId, commit.TransactionId);
        Assert.Equal(1, Assert.Single(commit.Results!).Changes);
        Assert.NotNull(commit.Bookmark);
        Assert.True(rollback.RolledBack);
        Assert.Equal([1L], after.As<long>());
    }

    [Fact]
    public async Task TransactionAsync_raises_TX_NOT_FOUND_when_the_id_is_unknown()
    {
        var shard = await ItemsAsync();

        var error = await Assert.ThrowsAsync<ShardException>(() =>
            shard.TransactionAsync(new TransactionRequest(TransactionOperation.Commit, "nope")));

        Assert.Equal(ShardErrorCode.TxNotFound, error.Code);
        Assert.False(error.Retryable);
    }

    [Fact]
    public async Task LookupRowsAsync_finds_rows_by_primary_key_and_by_column()
    {
        var shard = await ItemsAsync();
        await shard.MutateAsync(new MutationRequest("INSERT INTO items (id, name, qty) VALUES (?, ?, ?)", [7, "plum & kiwi/2", 5]));

        var byKey = await shard.LookupRowsAsync(new RowLookupRequest(PrimaryKey: 7));
        var byColumn = await shard.LookupRowsAsync(new RowLookupRequest(Column: "name", Value: "plum & kiwi/2", Consistency: Consistency.Strong));

        Assert.Equal("plum & kiwi/2", Assert.Single(byKey.As<Item>()).Name);
        Assert.Equal(7, Assert.Single(byColumn.As<Item>()).Id);
    }

    [Fact]
    public async Task GetStatsAsync_and_GetBookmarkAsync_describe_the_shard()
    {
        var shard = await ItemsAsync();
        var write = await shard.MutateAsync(new MutationRequest("INSERT INTO items (name, qty) VALUES ('a', 1)"));

        var stats = await shard.GetStatsAsync();
        var bookmark = await shard.GetBookmarkAsync(new BookmarkRequest());

        Assert.EndsWith(":items", stats.Shard, StringComparison.Ordinal);
        Assert.True(stats.SizeBytes > 0);
        Assert.Equal(10L * 1024 * 1024 * 1024, stats.MaxSizeBytes);
        Assert.Equal(write.Bookmark, bookmark.Bookmark);
        Assert.Equal(write.Bookmark, stats.Bookmark);
    }

    [Fact]
    public async Task QueryAsync_raises_SQL_ERROR_with_the_silo_message_when_the_sql_is_wrong()
    {
        var shard = await ItemsAsync();

        var error = await Assert.ThrowsAsync<ShardException>(() => shard.QueryAsync(new QueryRequest("SELECT nope FROM items")));

        Assert.Equal(ShardErrorCode.SqlError, error.Code);
        Assert.Contains("nope", error.Message, StringComparison.Ordinal);
        Assert.Equal(400, error.Data["HttpStatus"]);
    }

    [Fact]
    public async Task Same_code_runs_in_process_and_remote_with_the_same_results_and_errors()
    {
        var table = NewTable();
        Func<string, ITableShard>[] factories = [key => silo.Grains.GetGrain<ITableShard>(key), key => _client.GetGrain<ITableShard>(key)];
        var outcomes = new List<string>();
        foreach (var grains in factories)
        {
            outcomes.Add(await ScenarioAsync(grains, "co" + outcomes.Count, table));
        }

        Assert.Equal(outcomes[0], outcomes[1]);
        Assert.Contains("CONFLICT_UNIQUE", outcomes[0], StringComparison.Ordinal);

        static async Task<string> ScenarioAsync(Func<string, ITableShard> grains, string tenant, string table)
        {
            var shard = grains($"{tenant}:{table}");
            await shard.DdlAsync(new DdlRequest("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT UNIQUE)"));
            await shard.MutateAsync(new MutationRequest("INSERT INTO t (v) VALUES (?)", ["a"]));
            var code = "none";
            try
            {
                await shard.MutateAsync(new MutationRequest("INSERT INTO t (v) VALUES (?)", ["a"]));
            }
            catch (ShardException ex)
            {
                code = ex.Code.ToWire();
            }

            var rows = await shard.QueryAsync(new QueryRequest("SELECT id, v FROM t"));
            return code + "|" + string.Join(";", rows.Rows.Select(r => string.Join(",", r)));
        }
    }

    [Fact]
    public async Task Calls_raise_UNAUTHENTICATED_and_FORBIDDEN_when_the_key_is_missing_or_of_another_tenant()
    {
        using var alpha = new ShardsClient(new ShardsClientOptions { Endpoints = [secured.Url], ApiKey = SecuredKestrelSilo.AlphaKey });
        using var anonymous = new ShardsClient(new ShardsClientOptions { Endpoints = [secured.Url] });
        var table = NewTable();

        var ok = await alpha.GetTable("alpha", table).DdlAsync(new DdlRequest("CREATE TABLE t (id INTEGER PRIMARY KEY)"));
        var forbidden = await Assert.ThrowsAsync<ShardException>(() => alpha.GetTable("beta", table).GetStatsAsync());
        var unauthenticated = await Assert.ThrowsAsync<ShardException>(() => anonymous.GetTable("alpha", table).QueryAsync(new QueryRequest("SELECT 1")));

        Assert.True(ok.Ok);
        Assert.Equal(ShardErrorCode.Forbidden, forbidden.Code);
        Assert.Equal(ShardErrorCode.Unauthenticated, unauthenticated.Code);
    }

    [Fact]
    public void GetGrain_throws_ArgumentException_when_the_interface_has_no_http_implementation()
    {
        Assert.Throws<ArgumentException>(() => _client.GetGrain<IUnknownGrain>("a:b"));
        Assert.Equal(ShardErrorCode.InvalidArgument, Assert.Throws<ShardException>(() => _client.GetGrain<ITableShard>("no-colon")).Code);
    }

    [Fact]
    public async Task RefreshCapacityAsync_measures_the_shard_over_http_when_rows_grew()
    {
        var shard = await ItemsAsync();
        var before = await shard.RefreshCapacityAsync();
        await shard.MutateAsync(new MutationRequest("INSERT INTO items (name, qty) VALUES (zeroblob(200000), 1)"));

        var after = await shard.RefreshCapacityAsync();

        Assert.Equal(before.Shard, after.Shard);
        Assert.True(after.SizeBytes >= before.SizeBytes + 200_000, $"size {before.SizeBytes} -> {after.SizeBytes}");
    }

    public interface IUnknownGrain : IGrainWithStringKey;
}
