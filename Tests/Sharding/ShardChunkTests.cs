using OrleansShards.Tests.Infrastructure;
using OrleansShards.Tests.TableShards;
using static OrleansShards.Tests.Sharding.ShardingTestData;

namespace OrleansShards.Tests.Sharding;

/// <summary>
/// A copy reads a table's rows in chunks bounded by bytes as well as rows (a chunk of 16,384 rows of large values held
/// gigabytes), reading on until a chunk comes back empty; and it reads them under the tenant's value cap, so a virtual
/// generated column cannot make the engine compute huge values row after row.
/// </summary>
public sealed class ShardChunkTests
{
    [Fact]
    public async Task Rows_larger_than_a_chunk_together_are_all_moved()
    {
        await using var host = await ShardTestHost.StartAsync();
        var docs = host.Shard(Tenant, "docs");
        await docs.DdlAsync(new DdlRequest("CREATE TABLE docs(id INTEGER PRIMARY KEY, body BLOB NOT NULL)"));

        // 24 rows of 1.5 MB: 36 MB, more than two chunks' worth of bytes, far fewer rows than a chunk.
        for (var i = 1; i <= 24; i++)
        {
            await docs.MutateAsync(new MutationRequest("INSERT INTO docs(id, body) VALUES (?, zeroblob(1500000))", [i]));
        }

        await host.Registry("docs").ShardAsync(new ShardRequest("id", 3));

        // A read of a sharded table concatenates the partitions' answers (each in order): sorted here.
        var all = await docs.QueryAsync(new QueryRequest("SELECT id, length(body) FROM docs"));
        Assert.Equal(Enumerable.Range(1, 24).Select(i => (long)i), all.Rows.Select(r => r[0].AsInteger).Order());
        Assert.All(all.Rows, r => Assert.Equal(1_500_000, r[1].AsInteger));
    }

    [Fact]
    public async Task A_generated_column_past_the_value_cap_fails_the_copy_with_a_typed_error_and_the_table_stays()
    {
        await using var host = await ShardTestHost.StartAsync();
        var table = host.Shard(Tenant, "gen");
        await table.DdlAsync(new DdlRequest("CREATE TABLE gen(id INTEGER PRIMARY KEY)"));
        await table.MutateAsync(new MutationRequest("INSERT INTO gen(id) VALUES (1), (2), (3)"));

        // Added once the rows exist, a virtual column is computed only when read (an insert now would be refused: its value
        // is past the tenant's cap).
        await table.DdlAsync(new DdlRequest("ALTER TABLE gen ADD COLUMN g BLOB GENERATED ALWAYS AS (zeroblob(3000000)) VIRTUAL"));

        var refused = await Assert.ThrowsAsync<ShardException>(() => host.Registry("gen").ShardAsync(new ShardRequest("id", 2)));
        Assert.NotEqual(ShardErrorCode.Internal, refused.Code);

        Assert.Equal(3, await ShardAssert.CountAsync(table, "gen"));
        Assert.False((await host.Registry("gen").DiscoverAsync()).Sharded);
    }
}
