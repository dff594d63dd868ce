using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using Microsoft.Data.Sqlite;

namespace OrleansShards.Benchmarks.TableShards;

/// <summary>
/// Point select by primary key: the grain in-process against raw Microsoft.Data.Sqlite (prepared command). One caller
/// each; and 16 concurrent callers through the grain against the same number of selects run by raw MDS on one
/// connection, single-threaded (category <c>point-select-16</c>; times are per select).
/// </summary>
[BenchmarkCategory("point-select")]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
public class TableShardPointSelectBenchmarks
{
    private const int Rows = 10_000;
    private const int Callers = 16;
    private const int PerCaller = 64;
    private const string Select = "SELECT id, name, qty FROM items WHERE id = ?";
    private ShardBenchmarkHost _host = null!;
    private SqliteConnection _raw = null!;
    private SqliteCommand _select = null!;
    private SqliteParameter _id = null!;
    private long _next;

    // Synchronous on purpose: the in-process toolchain does not await async setup/cleanup.
    [GlobalSetup]
    public void Setup() => SetupAsync().GetAwaiter().GetResult();

    [GlobalCleanup]
    public void Cleanup() => CleanupAsync().AsTask().GetAwaiter().GetResult();

    private async Task SetupAsync()
    {
        _host = await ShardBenchmarkHost.StartAsync();
        _raw = _host.OpenRaw();
        await FillShardAsync();
        using (var fill = _raw.CreateCommand())
        {
            fill.CommandText = "WITH RECURSIVE s(v) AS (SELECT 1 UNION ALL SELECT v + 1 FROM s WHERE v < $n) INSERT OR IGNORE INTO items(id, name, qty) SELECT v, 'item ' || v, v % 100 FROM s";
            fill.Parameters.AddWithValue("$n", Rows);
            fill.ExecuteNonQuery();
        }

        _select = _raw.CreateCommand();
        _select.CommandText = "SELECT id, name, qty FROM items WHERE id = $id";
        _id = _select.Parameters.Add("$id", SqliteType.Integer);
        _select.Prepare();
    }

    private Task FillShardAsync() => _host.Shard.MutateAsync(new MutationRequest(
        "INSERT OR IGNORE INTO items(id, name, qty) WITH RECURSIVE s(v) AS (SELECT 1 UNION ALL SELECT v + 1 FROM s WHERE v < ?) SELECT v, 'item ' || v, v % 100 FROM s",
        [Rows]));

    private async ValueTask CleanupAsync()
    {
        Console.WriteLine($"// reads answered by the silo-local path: {_host.LocalReadsServed:N0}");
        _select.Dispose();
        _raw.Dispose();
        await _host.DisposeAsync();
    }

    private long NextId() => Interlocked.Increment(ref _next) % Rows + 1;

    [Benchmark(Baseline = true, Description = "raw MDS point select")]
    public long RawPointSelect()
    {
        _id.Value = NextId();
        using var reader = _select.ExecuteReader();
        reader.Read();
        return reader.GetInt64(2);
    }

    [Benchmark(Description = "grain point select (in-process)")]
    public async Task<long> GrainPointSelect()
    {
        var result = await _host.Shard.QueryAsync(new QueryRequest(Select, [NextId()]));
        return result.Rows[0][2].AsInteger;
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Callers * PerCaller, Description = "raw MDS point select, one connection, single thread")]
    [BenchmarkCategory("point-select-16")]
    public long RawSingleThread()
    {
        long sum = 0;
        for (var i = 0; i < Callers * PerCaller; i++)
        {
            sum += RawPointSelect();
        }

        return sum;
    }

    [Benchmark(OperationsPerInvoke = Callers * PerCaller, Description = "grain point select, 16 concurrent callers (in-process)")]
    [BenchmarkCategory("point-select-16")]
    public async Task<long> GrainSixteenCallers()
    {
        var callers = new Task<long>[Callers];
        for (var c = 0; c < Callers; c++)
        {
            callers[c] = Task.Run(async () =>
            {
                long sum = 0;
                for (var i = 0; i < PerCaller; i++)
                {
                    var result = await _host.Shard.QueryAsync(new QueryRequest(Select, [NextId()]));
                    sum += result.Rows[0][2].AsInteger;
                }

                return sum;
            });
        }

        long total = 0;
        foreach (var sum in await Task.WhenAll(callers))
        {
            total += sum;
        }

        return total;
    }
}
