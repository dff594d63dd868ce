using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;

namespace OrleansShards.Benchmarks.TableShards;

/// <summary>
/// Point select over HTTP: the real silo (<c>POST /v1/tables/items/query</c> → grain) against a minimal ASP.NET
/// Core endpoint over raw Microsoft.Data.Sqlite, same process, same client code, one warm connection each.
/// </summary>
[BenchmarkCategory("http-point-select")]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
public class TableShardHttpPointSelectBenchmarks
{
    private const int Rows = 10_000;
    private const string Select = "SELECT id, name, qty FROM items WHERE id = ?";
    private HttpBenchmarkHost _host = null!;
    private byte[][] _bodies = null!;
    private long _next;

    // Synchronous on purpose: the in-process toolchain does not await async setup/cleanup.
    [GlobalSetup]
    public void Setup() => SetupAsync().GetAwaiter().GetResult();

    [GlobalCleanup]
    public void Cleanup() => _host.DisposeAsync().AsTask().GetAwaiter().GetResult();

    private async Task SetupAsync()
    {
        _host = await HttpBenchmarkHost.StartAsync();
        const string fill = "INSERT OR IGNORE INTO items(id, name, qty) WITH RECURSIVE s(v) AS (SELECT 1 UNION ALL SELECT v + 1 FROM s WHERE v < ?) SELECT v, 'item ' || v, v % 100 FROM s";
        var body = HttpBenchmarkHost.Body(fill, [Rows]);
        await _host.PostAsync(_host.SiloBase + "mutation", body);
        await _host.PostAsync(_host.MinimalBase + "mutation", body);

        // Bodies built up front: the client's serialization is not what is measured.
        _bodies = new byte[1024][];
        for (var i = 0; i < _bodies.Length; i++)
        {
            _bodies[i] = HttpBenchmarkHost.Body(Select, [(long)(i * 9 % Rows) + 1]);
        }

        // Warm both connections and both servers' first-request paths.
        for (var i = 0; i < 100; i++)
        {
            await MinimalPointSelect();
            await SiloPointSelect();
        }
    }

    private byte[] NextBody() => _bodies[_next++ % _bodies.Length];

    [Benchmark(Baseline = true, Description = "minimal endpoint point select (HTTP, raw MDS)")]
    public Task<int> MinimalPointSelect() => _host.PostAsync(_host.MinimalBase + "query", NextBody());

    [Benchmark(Description = "silo point select (HTTP, grain)")]
    public Task<int> SiloPointSelect() => _host.PostAsync(_host.SiloBase + "query", NextBody());
}

/// <summary>
/// Single-row insert over HTTP, each its own durable commit (WAL + <c>synchronous=FULL</c>): the real silo
/// (<c>POST /v1/tables/items/mutation</c> → grain → writer) against a minimal ASP.NET Core endpoint over raw
/// Microsoft.Data.Sqlite autocommit, same process, same client code.
/// </summary>
[BenchmarkCategory("http-single-insert")]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
public class TableShardHttpInsertBenchmarks
{
    private HttpBenchmarkHost _host = null!;
    private readonly byte[] _body = HttpBenchmarkHost.Body("INSERT INTO items(name, qty) VALUES (?, 1)", ["http"]);

    [GlobalSetup]
    public void Setup() => SetupAsync().GetAwaiter().GetResult();

    [GlobalCleanup]
    public void Cleanup() => _host.DisposeAsync().AsTask().GetAwaiter().GetResult();

    private async Task SetupAsync()
    {
        _host = await HttpBenchmarkHost.StartAsync();
        for (var i = 0; i < 20; i++)
        {
            await MinimalInsert();
            await SiloInsert();
        }
    }

    [Benchmark(Baseline = true, Description = "minimal endpoint insert (HTTP, raw MDS)")]
    public Task<int> MinimalInsert() => _host.PostAsync(_host.MinimalBase + "mutation", _body);

    [Benchmark(Description = "silo insert (HTTP, grain)")]
    public Task<int> SiloInsert() => _host.PostAsync(_host.SiloBase + "mutation", _body);
}
