using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using Microsoft.Data.Sqlite;

namespace OrleansShards.Benchmarks.TableShards;

/// <summary>
/// 64 concurrent inserters: through the grain (group commit: concurrent mutations share one durable
/// transaction) against one durable commit per request, twice: the same grain with group commit off
/// (<c>MaxGroupCommitSize = 1</c>, the baseline) and raw Microsoft.Data.Sqlite (each insert its own
/// transaction, WAL + synchronous=FULL, the 64 inserters serialized on the one connection).
/// </summary>
[BenchmarkCategory("group-commit")]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
public class TableShardGroupCommitBenchmarks
{
    private const int Inserters = 64;
    private const int InsertsEach = 8;
    private const int Operations = Inserters * InsertsEach;

    private ShardBenchmarkHost _host = null!;
    private ShardBenchmarkHost _single = null!;
    private SqliteConnection _raw = null!;
    private SqliteCommand _insert = null!;
    private readonly SemaphoreSlim _rawLock = new(1, 1);

    // Synchronous on purpose: the in-process toolchain does not await async setup/cleanup.
    [GlobalSetup]
    public void Setup() => SetupAsync().GetAwaiter().GetResult();

    [GlobalCleanup]
    public void Cleanup() => CleanupAsync().AsTask().GetAwaiter().GetResult();

    private async Task SetupAsync()
    {
        _host = await ShardBenchmarkHost.StartAsync();
        _single = await ShardBenchmarkHost.StartAsync(o => o.MaxGroupCommitSize = 1);
        _raw = _host.OpenRaw();
        _insert = _raw.CreateCommand();
        _insert.CommandText = "INSERT INTO items(name, qty) VALUES ('raw', 1)";
        _insert.Prepare();
    }

    private async ValueTask CleanupAsync()
    {
        _insert.Dispose();
        _raw.Dispose();
        await _host.DisposeAsync();
        await _single.DisposeAsync();
    }

    [Benchmark(OperationsPerInvoke = Operations, Description = "64 inserters, raw MDS, commit per insert")]
    public Task RawCommitPerInsert() => Task.WhenAll(Enumerable.Range(0, Inserters).Select(_ => Task.Run(async () =>
    {
        for (var i = 0; i < InsertsEach; i++)
        {
            await _rawLock.WaitAsync();
            try
            {
                _insert.ExecuteNonQuery();
            }
            finally
            {
                _rawLock.Release();
            }
        }
    })));

    [Benchmark(Baseline = true, OperationsPerInvoke = Operations, Description = "64 inserters, grain, one commit per request")]
    public Task GrainCommitPerRequest() => Inserts(_single.Shard);

    [Benchmark(OperationsPerInvoke = Operations, Description = "64 inserters, grain, group commit")]
    public Task GrainGroupCommit() => Inserts(_host.Shard);

    private static Task Inserts(ITableShard shard) => Task.WhenAll(Enumerable.Range(0, Inserters).Select(_ => Task.Run(async () =>
    {
        for (var i = 0; i < InsertsEach; i++)
        {
            await shard.MutateAsync(new MutationRequest("INSERT INTO items(name, qty) VALUES (?, 1)", ["grain"]));
        }
    })));
}
