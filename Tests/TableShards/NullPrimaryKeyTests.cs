using OrleansShards.Tests.Infrastructure;

namespace OrleansShards.Tests.TableShards;

/// <summary>
/// SQLite lets a non-INTEGER primary key of a rowid table hold NULL, but such a row has no key to be logged by: it would
/// be missing from every replica, restore and moved copy. The writer refuses the work that writes one
/// (<c>CONSTRAINT_VIOLATION</c>) and nothing of it stays.
/// </summary>
public sealed class NullPrimaryKeyTests
{
    [Fact]
    public async Task A_write_that_leaves_a_null_in_a_primary_key_is_refused_and_rolled_back()
    {
        await using var host = await ShardTestHost.StartAsync();
        var shard = host.Shard("nulls", "t");
        await shard.DdlAsync(new DdlRequest("CREATE TABLE t(k TEXT PRIMARY KEY, v TEXT)"));

        var refused = await ShardAssert.FailsWith(ShardErrorCode.ConstraintViolation,
            () => shard.MutateAsync(new MutationRequest("INSERT INTO t VALUES (NULL, 'x')")));
        Assert.Contains("primary key", refused.Message, StringComparison.Ordinal);
        Assert.Equal(0, await ShardAssert.CountAsync(shard, "t"));

        // A batch is atomic: its good statement goes too.
        await ShardAssert.FailsWith(ShardErrorCode.ConstraintViolation, () => shard.BatchAsync(new BatchRequest(
            [new Statement("INSERT INTO t VALUES ('a', 'a')"), new Statement("INSERT INTO t VALUES (NULL, 'b')")])));
        Assert.Equal(0, await ShardAssert.CountAsync(shard, "t"));

        // Keyed rows are written; updating a key to NULL is refused and leaves the row as it was.
        await shard.MutateAsync(new MutationRequest("INSERT INTO t VALUES ('a', 'a')"));
        await ShardAssert.FailsWith(ShardErrorCode.ConstraintViolation,
            () => shard.MutateAsync(new MutationRequest("UPDATE t SET k = NULL WHERE k = 'a'")));
        var rows = await shard.QueryAsync(new QueryRequest("SELECT k, v FROM t"));
        Assert.Equal("a", Assert.Single(rows.Rows)[0].AsText);

        // A table whose key is an INTEGER PRIMARY KEY (the rowid) takes NULL as "assign one".
        await shard.DdlAsync(new DdlRequest("CREATE TABLE r(id INTEGER PRIMARY KEY, v TEXT)"));
        await shard.MutateAsync(new MutationRequest("INSERT INTO r VALUES (NULL, 'x')"));
        Assert.Equal(1, await ShardAssert.CountAsync(shard, "r"));
    }
}
