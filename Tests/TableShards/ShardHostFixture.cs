using Microsoft.Data.Sqlite;
using OrleansShards.Tests.Infrastructure;

namespace OrleansShards.Tests.TableShards;

/// <summary>One in-process silo with default shard options, shared by the tests that need nothing special.</summary>
public sealed class ShardHostFixture : IAsyncLifetime
{
    private int _next;

    public ShardTestHost Host { get; private set; } = null!;

    /// <summary>A shard of a fresh tenant, so tests sharing the host never see each other's data.</summary>
    public ITableShard NewShard(string table = "items") => Host.Shard("t" + Interlocked.Increment(ref _next), table);

    public async Task InitializeAsync() => Host = await ShardTestHost.StartAsync();

    public async Task DisposeAsync() => await Host.DisposeAsync();
}

[CollectionDefinition(Name)]
public sealed class ShardHostCollection : ICollectionFixture<ShardHostFixture>
{
    public const string Name = "shard host";
}

/// <summary>Assertions and raw-file access shared by the TableShard tests.</summary>
internal static class ShardAssert
{
    /// <summary>Awaits <paramref name="call"/>, asserts it fails with <paramref name="code"/>, and returns the error.</summary>
    public static async Task<ShardException> FailsWith(ShardErrorCode code, Func<Task> call)
    {
        var error = await Assert.ThrowsAsync<ShardException>(call);
        Assert.True(error.Code == code, $"Expected {code} but got {error.Code}: {error.Message}");
        return error;
    }

    public static async Task<long> CountAsync(ITableShard shard, string table = "items")
    {
        var result = await shard.QueryAsync(new QueryRequest($"SELECT count(*) FROM {table}"));
        return result.Rows[0][0].AsInteger;
    }

    /// <summary>Opens the shard file with a second, plain Microsoft.Data.Sqlite connection (no engine, no authorizer).</summary>
    public static SqliteConnection OpenRaw(string dataDirectory, string tenant, string table)
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = Path.Combine(dataDirectory, tenant, table + ".db"),
            Mode = SqliteOpenMode.ReadOnly,
            Pooling = false,
        }.ToString());
        connection.Open();
        return connection;
    }

    public static object? Scalar(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar();
    }
}
