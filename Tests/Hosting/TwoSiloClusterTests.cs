using Orleans.TestingHost;
using OrleansShards.Grains.Hosting;
using OrleansShards.Grains.Hosting.Reminders;
using OrleansShards.Tests.Infrastructure;

namespace OrleansShards.Tests.Hosting;

/// <summary>
/// The grains on a 2-silo <see cref="InProcessTestCluster"/> called through its cluster client, so every request,
/// result and error crosses Orleans' serializer (not the in-process copier).
/// </summary>
public sealed class TwoSiloClusterTests : IAsyncLifetime
{
    private readonly TempDirectory _data = new("two-silos");
    private InProcessTestCluster _cluster = null!;

    public async Task InitializeAsync()
    {
        var builder = new InProcessTestClusterBuilder(2);
        builder.ConfigureSilo((options, silo) =>
        {
            // Each silo keeps its own files (a shard is served by whichever silo activates it here).
            var dir = Path.Combine(_data.Path, options.SiloName);
            silo.UseSqliteReminderService(o => o.DatabasePath = Path.Combine(dir, ".silo", "reminders.db"));
            silo.AddShards(o => o.DataDirectory = dir);
        });
        _cluster = builder.Build();
        await _cluster.DeployAsync();
    }

    public async Task DisposeAsync()
    {
        await _cluster.DisposeAsync();
        _data.Dispose();
    }

    [Fact]
    public async Task ShardException_keeps_code_message_and_retryable_flag_across_the_wire()
    {
        var shard = _cluster.Client.GetGrain<ITableShard>(ShardName.Format("wire", "items"));
        await shard.DdlAsync(new DdlRequest("CREATE TABLE items(id INTEGER PRIMARY KEY, name TEXT UNIQUE)"));
        await shard.MutateAsync(new MutationRequest("INSERT INTO items(name) VALUES (?)", ["a"]));

        var conflict = await Assert.ThrowsAsync<ShardException>(() => shard.MutateAsync(new MutationRequest("INSERT INTO items(name) VALUES (?)", ["a"])));
        Assert.Equal(ShardErrorCode.ConflictUnique, conflict.Code);
        Assert.False(conflict.Retryable);
        Assert.Contains("UNIQUE", conflict.Message, StringComparison.OrdinalIgnoreCase);
        Assert.NotNull(conflict.SqliteCode);

        var missing = await Assert.ThrowsAsync<ShardException>(() => shard.TransactionAsync(new TransactionRequest(TransactionOperation.Commit, "no-such-tx")));
        Assert.Equal(ShardErrorCode.TxNotFound, missing.Code);
    }

    [Fact]
    public async Task Values_of_every_kind_round_trip_through_the_serializer()
    {
        var shard = _cluster.Client.GetGrain<ITableShard>(ShardName.Format("wire", "kinds"));
        await shard.DdlAsync(new DdlRequest("CREATE TABLE kinds(id INTEGER PRIMARY KEY, i INTEGER, r REAL, t TEXT, b BLOB)"));
        var blob = new byte[] { 0, 1, 2, 255 };
        await shard.MutateAsync(new MutationRequest("INSERT INTO kinds(i, r, t, b) VALUES (?, ?, ?, ?)", [long.MaxValue, 2.5, "text", blob]));

        var result = await shard.QueryAsync(new QueryRequest("SELECT i, r, t, b, NULL FROM kinds"));

        var row = Assert.Single(result.Rows);
        Assert.Equal(long.MaxValue, row[0].AsInteger);
        Assert.Equal(2.5, row[1].AsReal);
        Assert.Equal("text", row[2].AsText);
        Assert.Equal(blob, row[3].AsBlob);
        Assert.True(row[4].IsNull);
        Assert.StartsWith("0000000000000002.", result.Meta.Bookmark, StringComparison.Ordinal);
    }
}
