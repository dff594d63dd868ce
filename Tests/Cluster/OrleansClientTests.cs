using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using OrleansShards.Samples.ClusterClient;
using OrleansShards.Tests.Infrastructure;
using Xunit.Abstractions;

namespace OrleansShards.Tests.Cluster;

/// <summary>
/// An Orleans client configured exactly as samples/ClusterClient does (<see cref="ShardsClusterClient"/>: Redis
/// clustering, the silos' ClusterId/ServiceId) against three silo processes: it creates, writes and reads tables
/// through <c>ITableShard</c>; when a silo whose gateway it is connected to is killed, it keeps working through the
/// other gateways for every shard that was not on that silo (a call may fail until the silo is declared dead, when the
/// grain's directory entry was on it; retried with an idempotency key, every such shard is written within 15 s).
/// </summary>
[Collection(OrleansShards.Tests.Caching.LatencyCollection.Name)]
[Trait("Category", "Cluster")]
public sealed class OrleansClientTests(ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly TimeSpan FormTimeout = TimeSpan.FromSeconds(60);

    private readonly RedisServerFixture _redis = new();
    private readonly TempDirectory _root = new("orleans-client");
    private readonly List<SiloProcess> _silos = [];
    private readonly string _serviceId = "c" + Guid.NewGuid().ToString("N")[..8];
    private IHost? _client;

    public Task InitializeAsync() => _redis.InitializeAsync();

    public async Task DisposeAsync()
    {
        if (_client is not null)
        {
            using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            try
            {
                await _client.StopAsync(stop.Token);
            }
            catch (OperationCanceledException)
            {
            }

            _client.Dispose();
        }

        foreach (var silo in _silos)
        {
            await silo.DisposeAsync();
        }

        await _redis.DisposeAsync();
        _root.Dispose();
    }

    /// <summary>Established TCP connections to a local port (the client's ends: remote port = the gateway's).</summary>
    private static int ConnectionsTo(int port)
    {
        var hex = port.ToString("X4", CultureInfo.InvariantCulture);
        return new[] { "/proc/net/tcp", "/proc/net/tcp6" }
            .Where(File.Exists)
            .SelectMany(File.ReadLines)
            .Skip(1)
            .Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Count(f => f.Length > 3 && f[2].EndsWith(":" + hex, StringComparison.Ordinal) && f[3] == "01");
    }

    [Fact]
    public async Task Client_keeps_working_through_another_gateway_when_the_silo_of_its_gateway_is_killed()
    {
        var gateways = new Dictionary<string, int>();
        foreach (var name in new[] { "s1", "s2", "s3" })
        {
            gateways[name] = FreePorts.Next();
            _silos.Add(SiloProcess.Start(_redis.Configuration, _serviceId, name, _root.Combine(name), new Dictionary<string, string>
            {
                ["Shards__Cluster__GatewayPort"] = gateways[name].ToString(CultureInfo.InvariantCulture),
            }));
        }

        foreach (var silo in _silos)
        {
            await silo.WaitForActiveSilosAsync(3, FormTimeout);
        }

        // The client, built as the sample builds it.
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        var options = new ShardsClusterClient { Redis = _redis.Configuration, ClusterId = _serviceId, ServiceId = _serviceId };
        builder.UseOrleansClient(options.Configure);
        _client = builder.Build();
        await _client.StartAsync();
        var client = _client.Services.GetRequiredService<IClusterClient>();

        var primaries = new Dictionary<string, string>();
        for (var i = 1; i <= 9; i++)
        {
            var table = "c" + i;
            var shard = client.GetGrain<ITableShard>(ShardName.Format(ClusterTests.Tenant, table));
            await shard.DdlAsync(new DdlRequest($"CREATE TABLE {table}(id INTEGER PRIMARY KEY, v TEXT)"));
            await shard.MutateAsync(new MutationRequest($"INSERT INTO {table}(v) VALUES (?)", [SqlValue.FromText("through the client")]));
            primaries[table] = (await shard.GetPlacementAsync()).Primary;
        }

        output.WriteLine("primaries: " + string.Join(", ", primaries));

        // Orleans spreads a client's grains over the gateways it knows: the victim is a silo the client is connected to.
        var connected = gateways.ToDictionary(g => g.Key, g => ConnectionsTo(g.Value));
        output.WriteLine("client connections per gateway: " + string.Join(", ", connected));
        var victim = _silos
            .Where(s => connected[s.Name] > 0)
            .OrderBy(s => primaries.Values.Count(p => p == s.Name))
            .FirstOrDefault();
        Assert.True(victim is not null, "the client has no connection to any gateway");
        var survivors = primaries.Where(p => p.Value != victim.Name).Select(p => p.Key).ToArray();
        Assert.NotEmpty(survivors);

        victim.Kill();
        output.WriteLine($"killed {victim.Name} (gateway {gateways[victim.Name]})");

        // Every shard on a live silo answers through the client, through the other gateways. Until the victim is
        // declared dead a call may still fail: one caught on the dead connection, or one whose grain-directory entry
        // lived on the victim (the gateway silo cannot look it up). Such calls are retried with an idempotency key, so
        // a retry never writes twice; each shard must be written within a few seconds of the kill.
        var watch = Stopwatch.StartNew();
        var failures = new List<string>();
        foreach (var table in survivors)
        {
            var shard = client.GetGrain<ITableShard>(ShardName.Format(ClusterTests.Tenant, table));
            while (true)
            {
                try
                {
                    // Each attempt bounded by its own token: a call caught in flight on the dead gateway's connection is
                    // otherwise answered only by the client's ResponseTimeout (30 s).
                    using var attempt = new CancellationTokenSource(TimeSpan.FromSeconds(3));
                    await shard.MutateAsync(new MutationRequest($"INSERT INTO {table}(v) VALUES ('after the kill')", IdempotencyKey: "after-the-kill"), attempt.Token);
                    break;
                }
                catch (Exception ex) when (watch.Elapsed < TimeSpan.FromSeconds(15))
                {
                    failures.Add($"{watch.ElapsedMilliseconds} ms {table}: {ex.GetType().Name}: {ex.Message.Split('\n')[0]}");
                    await Task.Delay(100);
                }
            }
        }

        output.WriteLine($"all {survivors.Length} shards of live silos written after the kill within {watch.ElapsedMilliseconds} ms; failed attempts meanwhile: {failures.Count}");
        foreach (var failure in failures)
        {
            output.WriteLine("  " + failure);
        }

        // Once the victim is declared dead: rounds of reads and writes with no failure at all.
        var via = _silos.First(s => s != victim);
        await via.WaitForActiveSilosAsync(2, FormTimeout);
        output.WriteLine($"{victim.Name} declared dead {watch.ElapsedMilliseconds} ms after the kill");
        for (var round = 0; round < 3; round++)
        {
            foreach (var table in survivors)
            {
                var shard = client.GetGrain<ITableShard>(ShardName.Format(ClusterTests.Tenant, table));
                await shard.MutateAsync(new MutationRequest($"INSERT INTO {table}(v) VALUES ('round {round}')"));
                var count = await shard.QueryAsync(new QueryRequest($"SELECT count(*) FROM {table}"));
                Assert.Equal(3 + round, count.Rows[0][0].AsInteger);
            }
        }

        Assert.Equal(0, ConnectionsTo(gateways[victim.Name]));

        // New tables go to the live silos, still through the same client.
        var fresh = client.GetGrain<ITableShard>(ShardName.Format(ClusterTests.Tenant, "fresh"));
        await fresh.DdlAsync(new DdlRequest("CREATE TABLE fresh(id INTEGER PRIMARY KEY)"));
        await fresh.MutateAsync(new MutationRequest("INSERT INTO fresh(id) VALUES (1)"));
        Assert.NotEqual(victim.Name, (await fresh.GetPlacementAsync()).Primary);
    }
}
