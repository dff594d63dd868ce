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

    [Fact]
    public async Task A_row_that_already_had_a_null_key_can_be_updated_given_a_key_or_deleted()
    {
        using var dir = new TempDirectory("nulls");
        await using (var host = await ShardTestHost.StartAsync(dataDirectory: dir.Path))
        {
            await host.Shard("nulls", "t").DdlAsync(new DdlRequest("CREATE TABLE t(k TEXT PRIMARY KEY, v TEXT)"));
        }

        // Rows written before the check (an older build): straight into the file.
        using (var file = new Grains.Storage.ShardConnection(Path.Combine(dir.Path, "nulls", "t.db"), readOnly: false, planCacheSize: 4))
        {
            file.Execute("INSERT INTO t VALUES (NULL, 'old'), (NULL, 'older')");
        }

        await using (var host = await ShardTestHost.StartAsync(dataDirectory: dir.Path))
        {
            var shard = host.Shard("nulls", "t");
            await shard.MutateAsync(new MutationRequest("UPDATE t SET v = 'kept' WHERE v = 'old'"));
            await shard.MutateAsync(new MutationRequest("UPDATE t SET k = 'fixed' WHERE v = 'kept'"));
            await shard.MutateAsync(new MutationRequest("DELETE FROM t WHERE k IS NULL"));
            var rows = await shard.QueryAsync(new QueryRequest("SELECT k, v FROM t"));
            var row = Assert.Single(rows.Rows);
            Assert.Equal("fixed", row[0].AsText);
            Assert.Equal("kept", row[1].AsText);
        }
    }
}
