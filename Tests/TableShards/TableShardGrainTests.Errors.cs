using OrleansShards.Tests.Infrastructure;

namespace OrleansShards.Tests.TableShards;

public sealed partial class TableShardGrainTests
{
    [Fact]
    public async Task MutateAsync_raises_conflict_unique_when_unique_or_primary_key_repeats()
    {
        var shard = await ItemsAsync();
        await shard.MutateAsync(new MutationRequest("INSERT INTO items(id, name, qty) VALUES (1, 'a', 1)"));

        await ShardAssert.FailsWith(ShardErrorCode.ConflictUnique,
            () => shard.MutateAsync(new MutationRequest("INSERT INTO items(id, name, qty) VALUES (2, 'a', 1)")));
        await ShardAssert.FailsWith(ShardErrorCode.ConflictUnique,
            () => shard.MutateAsync(new MutationRequest("INSERT INTO items(id, name, qty) VALUES (1, 'b', 1)")));
    }

    [Fact]
    public async Task MutateAsync_raises_constraint_violation_when_not_null_check_or_foreign_key_fails()
    {
        var shard = await ItemsAsync();
        await shard.DdlAsync(new DdlRequest("CREATE TABLE orders(id INTEGER PRIMARY KEY, item INTEGER NOT NULL REFERENCES items(id))"));

        await ShardAssert.FailsWith(ShardErrorCode.ConstraintViolation,
            () => shard.MutateAsync(new MutationRequest("INSERT INTO items(name, qty) VALUES (NULL, 1)")));
        await ShardAssert.FailsWith(ShardErrorCode.ConstraintViolation,
            () => shard.MutateAsync(new MutationRequest("INSERT INTO items(name, qty) VALUES ('a', -1)")));
        await ShardAssert.FailsWith(ShardErrorCode.ConstraintViolation,
            () => shard.MutateAsync(new MutationRequest("INSERT INTO orders(item) VALUES (42)")));
        Assert.Equal(0, await ShardAssert.CountAsync(shard, "orders"));
    }

    [Fact]
    public async Task DdlAsync_failing_after_it_created_a_virtual_table_answers_its_sql_error_and_leaves_nothing()
    {
        // CREATE VIRTUAL TABLE fills the module's shadow tables; rolled back with the failing DDL, they must not be asked
        // for in the commit's changeset (that failed as INTERNAL, "database schema has changed").
        var shard = await ItemsAsync();
        var failed = await ShardAssert.FailsWith(ShardErrorCode.SqlError,
            () => shard.DdlAsync(new DdlRequest("CREATE VIRTUAL TABLE notes USING fts5(body); CREATE TABLE broken(x, x)")));
        Assert.Contains("duplicate column name", failed.Message, StringComparison.Ordinal);
        await ShardAssert.FailsWith(ShardErrorCode.SqlError, () => shard.QueryAsync(new QueryRequest("SELECT * FROM notes")));

        await shard.DdlAsync(new DdlRequest("CREATE VIRTUAL TABLE notes USING fts5(body)"));
        await shard.MutateAsync(new MutationRequest("INSERT INTO notes(body) VALUES ('hello world')"));
        Assert.Equal(1, (await shard.QueryAsync(new QueryRequest("SELECT count(*) FROM notes WHERE notes MATCH 'hello'"))).Rows[0][0].AsInteger);
    }

    [Fact]
    public async Task QueryAsync_raises_sql_error_when_syntax_is_wrong_or_table_unknown()
    {
        var shard = await ItemsAsync();
        await ShardAssert.FailsWith(ShardErrorCode.SqlError, () => shard.QueryAsync(new QueryRequest("SELEC 1")));
        await ShardAssert.FailsWith(ShardErrorCode.SqlError, () => shard.QueryAsync(new QueryRequest("SELECT * FROM missing")));
        await ShardAssert.FailsWith(ShardErrorCode.SqlError, () => shard.MutateAsync(new MutationRequest("DELETE FROM missing")));
    }

    [Fact]
    public async Task QueryAsync_raises_invalid_argument_when_request_is_malformed()
    {
        var shard = await ItemsAsync();
        await ShardAssert.FailsWith(ShardErrorCode.InvalidArgument, () => shard.QueryAsync(new QueryRequest("SELECT 1; SELECT 2")));
        await ShardAssert.FailsWith(ShardErrorCode.InvalidArgument, () => shard.QueryAsync(new QueryRequest("INSERT INTO items(name, qty) VALUES ('a', 1)")));
        await ShardAssert.FailsWith(ShardErrorCode.InvalidArgument, () => shard.QueryAsync(new QueryRequest("SELECT ? + ?", [1])));
        await ShardAssert.FailsWith(ShardErrorCode.InvalidArgument, () => shard.QueryAsync(new QueryRequest("   ")));
        await ShardAssert.FailsWith(ShardErrorCode.InvalidArgument, () => shard.QueryAsync(new QueryRequest("-- only a comment")));
        await ShardAssert.FailsWith(ShardErrorCode.InvalidArgument, () => shard.MutateAsync(new MutationRequest("")));
        await ShardAssert.FailsWith(ShardErrorCode.InvalidArgument, () => shard.BatchAsync(new BatchRequest([])));
        Assert.Equal(0, await ShardAssert.CountAsync(shard));
    }

    [Fact]
    public async Task QueryAsync_raises_timeout_when_statement_runs_past_statement_timeout()
    {
        await using var host = await ShardTestHost.StartAsync(o => o.StatementTimeout = TimeSpan.FromMilliseconds(50));
        var shard = host.Shard("t", "items");
        await shard.DdlAsync(new DdlRequest(ItemsDdl));
        const string endless = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c) SELECT count(*) FROM c";

        await ShardAssert.FailsWith(ShardErrorCode.Timeout, () => shard.QueryAsync(new QueryRequest(endless)));
        await ShardAssert.FailsWith(ShardErrorCode.Timeout, () => shard.MutateAsync(new MutationRequest(
            "INSERT INTO items(name, qty) WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c) SELECT 'n' || x, 1 FROM c")));

        // The shard still serves both paths afterwards.
        await InsertAsync(shard, "after");
        Assert.Equal(1, await ShardAssert.CountAsync(shard));
    }

    [Fact]
    public async Task MutateAsync_raises_payload_too_large_when_a_limit_is_passed()
    {
        var shard = await ItemsAsync();
        var longStatement = "SELECT 1 /*" + new string('x', 101 * 1024) + "*/";
        var hugeValue = new string('v', 3 * 1024 * 1024);
        var manyParameters = "SELECT " + string.Join(", ", Enumerable.Repeat("?", 101));

        // Statement length and parameter count are arguments, not bodies (issue 15 item 11): INVALID_ARGUMENT.
        await ShardAssert.FailsWith(ShardErrorCode.InvalidArgument, () => shard.QueryAsync(new QueryRequest(longStatement)));
        await ShardAssert.FailsWith(ShardErrorCode.PayloadTooLarge,
            () => shard.MutateAsync(new MutationRequest("INSERT INTO items(name, qty) VALUES (?, 1)", [hugeValue])));
        await ShardAssert.FailsWith(ShardErrorCode.PayloadTooLarge,
            () => shard.MutateAsync(new MutationRequest("INSERT INTO items(name, qty) VALUES (?, 1)", [new byte[3 * 1024 * 1024]])));
        await ShardAssert.FailsWith(ShardErrorCode.InvalidArgument,
            () => shard.QueryAsync(new QueryRequest(manyParameters, [.. Enumerable.Range(0, 101).Select(i => (SqlValue)i)])));
        Assert.Equal(0, await ShardAssert.CountAsync(shard));
    }

    [Fact]
    public async Task MutateAsync_accepts_values_when_just_under_the_limits()
    {
        var shard = await ItemsAsync();
        var value = new string('v', 1024 * 1024);
        await shard.MutateAsync(new MutationRequest("INSERT INTO items(name, qty) VALUES (?, 1)", [value]));
        var hundred = await shard.QueryAsync(new QueryRequest(
            "SELECT " + string.Join(" + ", Enumerable.Repeat("?", 100)), [.. Enumerable.Range(0, 100).Select(_ => (SqlValue)1)]));

        Assert.Equal(100, hundred.Rows[0][0].AsInteger);
        Assert.Equal(1, await ShardAssert.CountAsync(shard));
    }
}
