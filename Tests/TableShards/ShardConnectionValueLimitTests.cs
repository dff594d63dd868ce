using OrleansShards.Tests.Infrastructure;

namespace OrleansShards.Tests.TableShards;

/// <summary>
/// Regression: the 2 MB tenant value cap (SQLITE_LIMIT_LENGTH) also applied to the engine's own
/// change-log row, so a batch or commit group whose changeset exceeded 2 MB failed as PAYLOAD_TOO_LARGE
/// although every tenant value was under the cap.
/// </summary>
public sealed class ShardConnectionValueLimitTests
{
    private static readonly byte[] OnePointFiveMb = new byte[1536 * 1024];

    [Fact]
    public async Task Batch_commits_when_its_changeset_exceeds_the_tenant_value_cap()
    {
        await using var host = await ShardTestHost.StartAsync();
        var shard = host.Shard("t1", "files");
        await shard.DdlAsync(new DdlRequest("CREATE TABLE files(id INTEGER PRIMARY KEY, data BLOB)"));

        var result = await shard.BatchAsync(new BatchRequest(
        [
            new Statement("INSERT INTO files(id, data) VALUES (1, ?)", [OnePointFiveMb]),
            new Statement("INSERT INTO files(id, data) VALUES (2, ?)", [OnePointFiveMb]),
            new Statement("INSERT INTO files(id, data) VALUES (3, ?)", [OnePointFiveMb]),
        ]));

        Assert.Equal(3, result.Results.Count);
        var sizes = await shard.QueryAsync(new QueryRequest("SELECT sum(length(data)) FROM files"));
        Assert.Equal(3L * OnePointFiveMb.Length, sizes.Rows[0][0].AsInteger);

        // The big change-log entry must also replay: restore to the batch's commit and read it back.
        var bookmark = result.Bookmark!;
        await shard.MutateAsync(new MutationRequest("DELETE FROM files"));
        await shard.RestoreAsync(new RestoreRequest(bookmark));
        var restored = await shard.QueryAsync(new QueryRequest("SELECT count(*) FROM files"));
        Assert.Equal(3, restored.Rows[0][0].AsInteger);
    }

    [Fact]
    public async Task Mutation_is_refused_when_one_value_exceeds_the_tenant_value_cap()
    {
        await using var host = await ShardTestHost.StartAsync();
        var shard = host.Shard("t1", "files");
        await shard.DdlAsync(new DdlRequest("CREATE TABLE files(id INTEGER PRIMARY KEY, data BLOB)"));

        var error = await Assert.ThrowsAsync<ShardException>(() =>
            shard.MutateAsync(new MutationRequest("INSERT INTO files(id, data) VALUES (1, ?)", [new byte[3 * 1024 * 1024]])));
        Assert.Equal(ShardErrorCode.PayloadTooLarge, error.Code);

        var tooBigFromSql = await Assert.ThrowsAsync<ShardException>(() =>
            shard.MutateAsync(new MutationRequest("INSERT INTO files(id, data) VALUES (2, zeroblob(3000000))")));
        Assert.Equal(ShardErrorCode.PayloadTooLarge, tooBigFromSql.Code);
    }
}
