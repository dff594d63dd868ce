using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using Microsoft.Data.Sqlite;

namespace OrleansShards.Benchmarks.TableShards;

/// <summary>One single-row insert at a time (each its own durable commit, WAL + synchronous=FULL): grain in-process against raw Microsoft.Data.Sqlite.</summary>
[BenchmarkCategory("single-insert")]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
public class TableShardInsertBenchmarks
{
    private ShardBenchmarkHost _host = null!;
    private SqliteConnection _raw = null!;
    private SqliteCommand _insert = null!;
    private SqliteParameter _name = null!;

    // Synchronous on purpose: the in-process toolchain does not await async setup/cleanup.
    [GlobalSetup]
    public void Setup() => SetupAsync().GetAwaiter().GetResult();

    [GlobalCleanup]
    public void Cleanup() => CleanupAsync().AsTask().GetAwaiter().GetResult();

    private async Task SetupAsync()
    {
        _host = await ShardBenchmarkHost.StartAsync();
        _raw = _host.OpenRaw();
        _insert = _raw.CreateCommand();
        _insert.CommandText = "INSERT INTO items(name, qty) VALUES ($name, 1)";
        _name = _insert.Parameters.Add("$name", SqliteType.Text);
        _insert.Prepare();
    }

    private async ValueTask CleanupAsync()
    {
        _insert.Dispose();
        _raw.Dispose();
        await _host.DisposeAsync();
    }

    [Benchmark(Baseline = true, Description = "raw MDS insert (autocommit)")]
    public int RawInsert()
    {
        _name.Value = "raw";
        return _insert.ExecuteNonQuery();
    }

    [Benchmark(Description = "grain insert (in-process)")]
    public async Task<long> GrainInsert()
    {
        var result = await _host.Shard.MutateAsync(new MutationRequest("INSERT INTO items(name, qty) VALUES (?, 1)", ["grain"]));
        return result.Changes;
    }
}
