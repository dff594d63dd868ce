using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OrleansShards.Grains.Hosting;
using OrleansShards.Grains.TableShards;
using OrleansShards.Benchmarks.Infrastructure;

namespace OrleansShards.Benchmarks.TableShards;

/// <summary>An in-process silo with one table shard, and a raw Microsoft.Data.Sqlite file with the same settings.</summary>
internal sealed class ShardBenchmarkHost : IAsyncDisposable
{
    public const string Schema = "CREATE TABLE IF NOT EXISTS items(id INTEGER PRIMARY KEY, name TEXT NOT NULL, qty INTEGER NOT NULL)";

    private readonly IHost _host;

    private ShardBenchmarkHost(IHost host, string directory, ITableShard shard)
    {
        _host = host;
        Directory = directory;
        Shard = shard;
    }

    public string Directory { get; }

    public ITableShard Shard { get; }

    /// <summary>Reads the silo-local path answered (<see cref="LocalShardReads.Served"/>).</summary>
    public long LocalReadsServed => _host.Services.GetRequiredService<LocalShardReads>().Served;

    public static async Task<ShardBenchmarkHost> StartAsync(Action<TableShardOptions>? configure = null)
    {
        var directory = Path.Combine(Path.GetTempPath(), "orleansshards-bench-" + Guid.NewGuid().ToString("N")[..8]);
        System.IO.Directory.CreateDirectory(directory);
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        // ORLEANSSHARDS_BENCH_LOCAL_READS=false sends every strong read through the grain call instead of the silo-local
        // read path (Shards:TableShard:LocalReads, on by default), as in HttpBenchmarkHost.
        var localReads = !string.Equals(Environment.GetEnvironmentVariable("ORLEANSSHARDS_BENCH_LOCAL_READS"), "false", StringComparison.OrdinalIgnoreCase);
        // ORLEANSSHARDS_BENCH_READERS=N sets Shards:TableShard:ReaderPoolSize (the default otherwise).
        var readers = int.TryParse(Environment.GetEnvironmentVariable("ORLEANSSHARDS_BENCH_READERS"), out var n) && n > 0 ? n : (int?)null;
        builder.UseShardsSilo(directory, options =>
        {
            options.LocalReads = localReads;
            options.ReaderPoolSize = readers ?? options.ReaderPoolSize;
            configure?.Invoke(options);
        });
        var host = builder.Build();
        await host.StartAsync();
        var shard = host.Services.GetRequiredService<IGrainFactory>().GetGrain<ITableShard>(ShardName.Format("bench", "items"));
        await shard.DdlAsync(new DdlRequest(Schema));
        return new ShardBenchmarkHost(host, directory, shard);
    }

    /// <summary>A raw connection on its own file in WAL mode with the grain's synchronous setting (FULL).</summary>
    public SqliteConnection OpenRaw(string file = "raw.db")
    {
        var connection = new SqliteConnection($"Data Source={Path.Combine(Directory, file)};Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; " + Schema;
        command.ExecuteNonQuery();
        return connection;
    }

    public async ValueTask DisposeAsync()
    {
        await _host.StopAsync();
        _host.Dispose();
        SqliteConnection.ClearAllPools();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
