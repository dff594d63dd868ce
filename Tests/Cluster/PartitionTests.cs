using System.Collections.Concurrent;
using System.Diagnostics;
using OrleansShards.Tests.Infrastructure;
using Xunit.Abstractions;

namespace OrleansShards.Tests.Cluster;

/// <summary>
/// A network partition made by the test: three silo processes, each in a network namespace of its own joined by a
/// bridge (<see cref="IsolatedNetwork"/>), redis-server on the bridge, <c>ReplicationFactor</c> 3. The primary's link is
/// cut under writers retrying with idempotency keys, a replica takes over, the link is healed: every acknowledged row
/// is there exactly once. Needs root (the CI machine runs as root).
/// </summary>
[Collection(OrleansShards.Tests.Caching.LatencyCollection.Name)]
[Trait("Category", "Cluster")]
public sealed class PartitionTests : IAsyncLifetime
{
    private readonly ITestOutputHelper _output;
    private readonly IsolatedNetwork _network = new(3);
    private readonly RedisServerFixture _redis;
    private readonly TempDirectory _root = new("partition");
    private readonly List<SiloProcess> _silos = [];
    private readonly string _serviceId = "p" + Guid.NewGuid().ToString("N")[..8];

    public PartitionTests(ITestOutputHelper output)
    {
        _output = output;
        _redis = new RedisServerFixture { AlsoBind = _network.HostAddress };
    }

    public Task InitializeAsync() => _redis.InitializeAsync();

    public async Task DisposeAsync()
    {
        foreach (var silo in _silos)
        {
            await silo.DisposeAsync();
        }

        await _redis.DisposeAsync();
        _network.Dispose();
        _root.Dispose();
    }

    [Fact]
    public async Task A_primary_cut_off_by_a_network_partition_loses_no_acknowledged_write_across_the_failover_and_the_heal()
    {
        var redis = $"{_network.HostAddress}:{_redis.Port},abortConnect=false";
        var settings = new Dictionary<string, string> { ["Shards__Cluster__ReplicationFactor"] = "3" };
        for (var i = 1; i <= 3; i++)
        {
            _silos.Add(SiloProcess.Start(redis, _serviceId, "s" + i, _root.Combine("s" + i), settings, networkNamespace: _network.NamespaceOf(i), address: _network.AddressOf(i)));
        }

        foreach (var silo in _silos)
        {
            await silo.WaitForActiveSilosAsync(3, TimeSpan.FromSeconds(90));
        }

        var (ddl, ddlBody) = await _silos[0].PostAsync("/v1/tables/ledger/ddl", new { query = "CREATE TABLE ledger(n INTEGER, v TEXT)" });
        Assert.True(ddl == 200, $"{ddl} {ddlBody}\n{_silos[0].Tail()}");
        var (_, placement) = await _silos[0].GetAsync("/v1/tables/ledger/placement");
        var primaryName = placement.GetProperty("primary").GetString()!;
        var primaryIndex = _silos.FindIndex(s => s.Name == primaryName);
        var survivors = _silos.Where(s => s.Name != primaryName).ToArray();

        var acknowledged = new ConcurrentDictionary<long, bool>();
        long next = 0;
        using var stop = new CancellationTokenSource();
        var deadline = DateTime.UtcNow.AddSeconds(120);
        var writers = Enumerable.Range(0, 4).Select(w => Task.Run(async () =>
        {
            var via = survivors[w % survivors.Length];
            while (!stop.IsCancellationRequested)
            {
                var n = Interlocked.Increment(ref next);
                var done = false;
                while (!done && DateTime.UtcNow < deadline)
                {
                    try
                    {
                        var (status, _) = await via.PostAsync("/v1/tables/ledger/mutation", new { query = "INSERT INTO ledger(n, v) VALUES (?, ?)", @params = new object[] { n, "v" + n }, idempotencyKey = $"row-{n}" });
                        done = status == 200;
                    }
                    catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
                    {
                    }

                    if (!done)
                    {
                        await Task.Delay(100);
                    }
                }

                Assert.True(done, $"row {n} was never acknowledged\n{via.Tail()}");
                acknowledged[n] = true;
            }
        })).ToList();

        await WaitUntilAsync(() => acknowledged.Count >= 40, "40 rows before the partition");
        _network.Cut(primaryIndex + 1);
        var cutAt = Stopwatch.StartNew();
        var atCut = acknowledged.Count;
        await WaitUntilAsync(() => acknowledged.Count >= atCut + 40, "40 rows acknowledged after the primary was cut off");
        _output.WriteLine($"40 more rows acknowledged {cutAt.ElapsedMilliseconds} ms after the cut");

        _network.Heal(primaryIndex + 1);
        var healedAt = acknowledged.Count;
        await WaitUntilAsync(() => acknowledged.Count >= healedAt + 20, "20 rows acknowledged after the heal");
        await stop.CancelAsync();
        await Task.WhenAll(writers);

        var (read, rows) = await survivors[0].PostAsync("/v1/tables/ledger/query", new { query = "SELECT n, count(*) FROM ledger GROUP BY n" });
        Assert.True(read == 200, $"{read} {rows}");
        var held = rows.GetProperty("rows").EnumerateArray().ToDictionary(r => r[0].GetInt64(), r => r[1].GetInt64());
        Assert.All(held, r => Assert.True(r.Value == 1, $"row {r.Key} is held {r.Value} times"));
        Assert.Equal(acknowledged.Keys.Order().ToList(), held.Keys.Order().ToList());
        var (_, after) = await survivors[0].GetAsync("/v1/tables/ledger/placement");
        Assert.NotEqual(primaryName, after.GetProperty("primary").GetString());
    }

    private static async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        var watch = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(90), $"Timed out waiting for: {what}");
            await Task.Delay(100);
        }
    }
}
