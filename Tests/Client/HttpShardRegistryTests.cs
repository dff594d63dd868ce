using System.Globalization;
using System.Net;
using System.Text.Json;
using OrleansShards.Client;
using OrleansShards.Tests.Infrastructure;

namespace OrleansShards.Tests.Client;

/// <summary>
/// The HTTP-backed <see cref="IShardRegistry"/>: the sharding scenario against a real silo on Kestrel, run through the
/// client and through the silo's in-process <see cref="IGrainFactory"/> with equal results; wire shapes, retries and the
/// operation timeout with a scripted handler.
/// </summary>
[Collection(KestrelSiloCollection.Name)]
public sealed class HttpShardRegistryTests(SharedKestrelSilo silo) : IDisposable
{
    private const int Rows = 60;

    private readonly ShardsClient _client = new(new ShardsClientOptions { Endpoints = [silo.Url], RetryBaseDelay = TimeSpan.FromMilliseconds(5) });

    public void Dispose() => _client.Dispose();

    private static string NewTenant() => "reg" + Guid.NewGuid().ToString("N")[..12];

    /// <summary>
    /// Shard <c>orders</c> (60 rows, 6 customers) into 3 by hash, discover, a routed and an unrouted delete, avg and count
    /// across shards, unshard; returns every observable figure as text lines so two runs can be compared.
    /// </summary>
    private static async Task<List<string>> ScenarioAsync((Func<string, ITableShard> Tables, Func<string, IShardRegistry> Registries) grains, string tenant)
    {
        var key = ShardName.Format(tenant, "orders");
        var orders = grains.Tables(key);
        var registry = grains.Registries(key);
        await orders.DdlAsync(new DdlRequest("CREATE TABLE orders(id INTEGER PRIMARY KEY, customer TEXT NOT NULL, total REAL)"));
        await orders.BatchAsync(new BatchRequest([.. Enumerable.Range(0, Rows).Select(i => new Statement("INSERT INTO orders VALUES (?, ?, ?)", [i, "c" + (i % 6), i + 0.5]))]));
        var facts = new List<string>();

        var shard = await registry.ShardAsync(new ShardRequest("customer", 3, ShardStrategies.Hash));
        Assert.Equal(3, shard.Shards.Count);
        Assert.Equal(Rows, shard.Shards.Sum(s => s.RowCount));
        Assert.Equal(Rows, shard.RowsMoved);
        Assert.All(shard.Registry.Endpoints, e => Assert.Equal("active", e.Status));
        facts.AddRange(shard.Shards.Select(s => $"shard {s.Name} {s.Index} {s.RowCount}"));
        facts.Add($"registry {shard.Registry.Key} {shard.Registry.KeyPath} {shard.Registry.Count} {shard.Registry.Strategy} {string.Join(",", shard.Registry.Endpoints)}");
        facts.Add($"stats {shard.Stats}");
        Assert.True(await registry.IsShardedAsync());

        var discovery = await registry.DiscoverAsync();
        Assert.True(discovery.Sharded);
        Assert.Equal(3, discovery.Shards.Count);
        Assert.All(discovery.Shards, s =>
        {
            Assert.Equal("healthy", s.Status);
            Assert.True(s.ResponseTimeMs >= 0);
            Assert.True(s.SizeBytes > 0);
            Assert.Null(s.Error);
        });
        Assert.Equal(Rows, discovery.Stats!.Total);
        Assert.Equal(shard.Registry.Id, discovery.Registry!.Id);
        Assert.Null(discovery.Operation);
        facts.AddRange(discovery.Shards.Select(s => $"health {s.Name} {s.Index} {s.Status} {s.RowCount}"));

        var routed = await orders.MutateAsync(new MutationRequest("DELETE FROM orders WHERE id = ?", [1], ShardKey: "c1"));
        var unrouted = await Assert.ThrowsAsync<ShardException>(() => orders.MutateAsync(new MutationRequest("DELETE FROM orders WHERE id = ?", [2])));
        Assert.Equal(1, routed.Changes);
        Assert.Equal(ShardErrorCode.InvalidArgument, unrouted.Code);
        facts.Add($"routed {routed.Changes}; unrouted {unrouted.Code} {unrouted.Message}");

        var avg = await registry.QueryShardsAsync(new ShardQueryRequest("SELECT total FROM orders", Aggregation: ShardAggregations.Avg, TimeoutMs: 5000));
        var expected = Enumerable.Range(0, Rows).Where(i => i != 1).Average(i => i + 0.5);
        Assert.Equal(expected, avg.Value!.Value.AsReal, 12);
        Assert.Equal(Rows - 1, avg.TotalItems);
        Assert.Equal(3, avg.Shards.Count);
        Assert.All(avg.Shards, s => Assert.Null(s.Error));
        facts.Add($"avg {avg.Value.Value.AsReal.ToString("R", CultureInfo.InvariantCulture)} {avg.TotalItems} {string.Join(",", avg.Shards.OrderBy(s => s.Index).Select(s => $"{s.Shard}:{s.ItemCount}:{s.Sum}"))}");

        var count = await registry.QueryShardsAsync(new ShardQueryRequest("SELECT * FROM orders WHERE customer = ?", ["c2"], ShardAggregations.Count));
        Assert.Equal(10, count.Value!.Value.AsInteger);
        facts.Add($"count {count.Value.Value} [{string.Join(",", count.Columns)}] {count.Rows.Count}");

        var concat = await registry.QueryShardsAsync(new ShardQueryRequest("SELECT id FROM orders WHERE total < ?", [10.0]));
        facts.Add($"concat [{string.Join(",", concat.Columns)}] {string.Join(",", concat.Rows.Select(r => r[0].AsInteger).Order())}");

        var unshard = await registry.UnshardAsync();
        Assert.Equal(Rows - 1, unshard.RowCount);
        Assert.Equal(3, unshard.ShardsMerged);
        Assert.False(await registry.IsShardedAsync());
        Assert.False((await registry.DiscoverAsync()).Sharded);
        facts.Add($"unshard {unshard.RowCount} {unshard.RowsMoved} {unshard.ShardsMerged}");

        var all = await orders.QueryAsync(new QueryRequest("SELECT id, customer, total FROM orders ORDER BY id"));
        Assert.Equal(Enumerable.Range(0, Rows).Where(i => i != 1).Select(i => (long)i), all.Rows.Select(r => r[0].AsInteger));
        facts.Add("rows " + string.Join(";", all.Rows.Select(r => string.Join("|", r.Select(v => v.ToString())))));
        return facts;
    }

    [Fact]
    public async Task Sharding_scenario_gives_equal_results_over_http_and_in_process()
    {
        var remote = await ScenarioAsync((_client.GetGrain<ITableShard>, _client.GetGrain<IShardRegistry>), NewTenant());
        var local = await ScenarioAsync((k => silo.Grains.GetGrain<ITableShard>(k), k => silo.Grains.GetGrain<IShardRegistry>(k)), NewTenant());

        Assert.Equal(local, remote);
    }

    [Fact]
    public async Task ShardAsync_raises_the_same_code_and_message_as_in_process_when_the_request_is_invalid()
    {
        var tenant = NewTenant();
        var key = ShardName.Format(tenant, "orders");
        await _client.GetGrain<ITableShard>(key).DdlAsync(new DdlRequest("CREATE TABLE orders(id INTEGER PRIMARY KEY, customer TEXT)"));

        var remote = await Assert.ThrowsAsync<ShardException>(() => _client.GetGrain<IShardRegistry>(key).ShardAsync(new ShardRequest("customer", 3)));
        var local = await Assert.ThrowsAsync<ShardException>(() => silo.Grains.GetGrain<IShardRegistry>(key).ShardAsync(new ShardRequest("customer", 3)));
        var unshard = await Assert.ThrowsAsync<ShardException>(() => _client.GetRegistry(tenant, "orders").UnshardAsync());
        var query = await Assert.ThrowsAsync<ShardException>(() => _client.GetRegistry(tenant, "orders").QueryShardsAsync(new ShardQueryRequest("SELECT 1", Aggregation: "median")));

        Assert.Equal(ShardErrorCode.InvalidArgument, remote.Code);
        Assert.Equal(local.Code, remote.Code);
        Assert.Equal(local.Message, remote.Message);
        Assert.Equal(ShardErrorCode.InvalidArgument, unshard.Code);
        Assert.Equal(ShardErrorCode.InvalidArgument, query.Code);
    }

    [Fact]
    public async Task QueryShardsAsync_avg_of_no_value_is_SQL_NULL_as_in_process()
    {
        var tenant = NewTenant();
        var key = ShardName.Format(tenant, "orders");
        var orders = _client.GetGrain<ITableShard>(key);
        await orders.DdlAsync(new DdlRequest("CREATE TABLE orders(id INTEGER PRIMARY KEY, customer TEXT NOT NULL, total REAL)"));
        await orders.BatchAsync(new BatchRequest([.. Enumerable.Range(0, 12).Select(i => new Statement("INSERT INTO orders VALUES (?, ?, NULL)", [i, "c" + i]))]));
        await _client.GetGrain<IShardRegistry>(key).ShardAsync(new ShardRequest("customer", 2));
        var request = new ShardQueryRequest("SELECT total FROM orders", Aggregation: ShardAggregations.Avg);

        var remote = await _client.GetGrain<IShardRegistry>(key).QueryShardsAsync(request);
        var local = await silo.Grains.GetGrain<IShardRegistry>(key).QueryShardsAsync(request);

        Assert.Equal(SqlValueKind.Null, local.Value!.Value.Kind);
        Assert.Equal(local.Value, remote.Value);
    }

    // Scripted handler: wire shapes, retries, timeouts.

    private const string DiscoveryJson = """{"sharded":false,"registry":null,"shards":[],"stats":null,"operation":null}""";

    private static (ShardsClient Client, StubHandler Stub) Create(Func<int, HttpRequestMessage, HttpResponseMessage> answer)
    {
        var stub = new StubHandler(answer);
        var options = new ShardsClientOptions
        {
            Endpoints = [new Uri("http://silo.test/")],
            RetryBaseDelay = TimeSpan.FromMilliseconds(1),
            MaxRetryDelay = TimeSpan.FromMilliseconds(5),
        };
        return (new ShardsClient(new HttpClient(stub), options), stub);
    }

    [Fact]
    public async Task Each_method_calls_its_route_with_the_silo_wire_shape()
    {
        var (client, stub) = Create((_, _) => StubHandler.Error(HttpStatusCode.BadRequest, "INVALID_ARGUMENT"));
        var registry = client.GetRegistry("acme", "items");

        await Assert.ThrowsAsync<ShardException>(() => registry.ShardAsync(new ShardRequest("meta", 4, ShardStrategies.Custom, "organization.id", "mod")));
        await Assert.ThrowsAsync<ShardException>(() => registry.UnshardAsync());
        await Assert.ThrowsAsync<ShardException>(() => registry.DiscoverAsync());
        await Assert.ThrowsAsync<ShardException>(() => registry.QueryShardsAsync(new ShardQueryRequest("SELECT v FROM items WHERE k = ?", [7], ShardAggregations.Sum, 1500, ContinueOnError: true)));
        await Assert.ThrowsAsync<ShardException>(() => registry.RebalanceAsync(new RebalanceRequest(5, 1.25, "full")));

        var sent = stub.Requests.Select(r => $"{r.Request.Method} {r.Request.RequestUri!.AbsolutePath} {r.Body}").ToList();
        Assert.Equal(
            [
                """POST /v1/tables/items/shard {"tenantId":"acme","key":"meta","count":4,"strategy":"custom","keyPath":"organization.id","router":"mod"}""",
                """POST /v1/tables/items/unshard {"tenantId":"acme"}""",
                "GET /v1/tables/items/shards ",
                """POST /v1/tables/items/shards/query {"tenantId":"acme","query":"SELECT v FROM items WHERE k = ?","params":[7],"aggregation":"sum","timeoutMs":1500,"continueOnError":true}""",
                """POST /v1/tables/items/rebalance {"tenantId":"acme","targetCount":5,"maxSkew":1.25,"strategy":"full"}""",
            ],
            sent);
        Assert.All(stub.Requests, r => Assert.Equal("acme", r.Request.Headers.GetValues("X-Tenant-Id").Single()));
    }

    [Fact]
    public async Task Shard_unshard_and_rebalance_are_sent_once_when_the_answer_is_RETRYABLE()
    {
        var (client, stub) = Create((_, _) => StubHandler.Error(HttpStatusCode.ServiceUnavailable, "RETRYABLE"));
        var registry = client.GetRegistry("acme", "items");

        var shard = await Assert.ThrowsAsync<ShardException>(() => registry.ShardAsync(new ShardRequest("k", 2)));
        var unshard = await Assert.ThrowsAsync<ShardException>(() => registry.UnshardAsync());
        var rebalance = await Assert.ThrowsAsync<ShardException>(() => registry.RebalanceAsync(new RebalanceRequest(3)));

        Assert.All([shard, unshard, rebalance], e => Assert.Equal(ShardErrorCode.Retryable, e.Code));
        Assert.Equal(3, stub.Requests.Count);
    }

    [Fact]
    public async Task Discover_and_query_across_shards_are_retried_when_the_answer_is_RETRYABLE()
    {
        const string QueryJson = """{"aggregation":"count","columns":["count"],"rows":[[4]],"value":4,"totalItems":4,"shards":[],"durationMs":1.5}""";
        var (client, stub) = Create((n, r) => (n % 2) == 1
            ? StubHandler.Error(HttpStatusCode.ServiceUnavailable, "RETRYABLE")
            : StubHandler.Json(HttpStatusCode.OK, r.Method == HttpMethod.Get ? DiscoveryJson : QueryJson));
        var registry = client.GetRegistry("acme", "items");

        var sharded = await registry.IsShardedAsync();
        var count = await registry.QueryShardsAsync(new ShardQueryRequest("SELECT 1", Aggregation: ShardAggregations.Count));

        Assert.False(sharded);
        Assert.Equal(4, count.Value!.Value.AsInteger);
        Assert.Equal(4, stub.Requests.Count);
    }

    [Fact]
    public async Task Long_operations_wait_for_OperationTimeout_not_Timeout()
    {
        using var handler = new SlowHandler(TimeSpan.FromMilliseconds(400), """{"rowCount":3,"rowsMoved":3,"shardsMerged":2,"durationMs":400,"stallMs":1,"correlationId":"c"}""");
        var options = new ShardsClientOptions { Endpoints = [new Uri("http://silo.test/")], Timeout = TimeSpan.FromMilliseconds(50), MaxRetries = 0 };
        using var client = new ShardsClient(new HttpClient(handler), options);
        var registry = client.GetRegistry("acme", "items");

        var unshard = await registry.UnshardAsync();
        var discover = await Assert.ThrowsAsync<ShardException>(() => registry.DiscoverAsync());

        Assert.Equal(2, unshard.ShardsMerged);
        Assert.Equal(ShardErrorCode.Timeout, discover.Code);
        Assert.Contains("ShardsClientOptions.Timeout", discover.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Long_operations_raise_TIMEOUT_naming_OperationTimeout_when_it_passes()
    {
        using var handler = new SlowHandler(Timeout.InfiniteTimeSpan, "{}");
        var options = new ShardsClientOptions { Endpoints = [new Uri("http://silo.test/")], OperationTimeout = TimeSpan.FromMilliseconds(50) };
        using var client = new ShardsClient(new HttpClient(handler), options);

        var error = await Assert.ThrowsAsync<ShardException>(() => client.GetRegistry("acme", "items").ShardAsync(new ShardRequest("k", 2)));

        Assert.Equal(ShardErrorCode.Timeout, error.Code);
        Assert.Contains("ShardsClientOptions.OperationTimeout", error.Message, StringComparison.Ordinal);
        Assert.Equal(1, handler.Calls);
    }

    [Fact]
    public void GetGrain_rejects_a_registry_key_that_is_not_tenant_table()
    {
        var error = Assert.Throws<ShardException>(() => _client.GetGrain<IShardRegistry>("no-colon"));

        Assert.Equal(ShardErrorCode.InvalidArgument, error.Code);
    }

    /// <summary>Answers <paramref name="json"/> after <paramref name="delay"/>, or when the call is cancelled.</summary>
    /// <summary>Answers POSTs after <paramref name="delay"/>; a GET is answered only once canceled (so a timed-out GET
    /// can never race a late answer on a loaded machine).</summary>
    private sealed class SlowHandler(TimeSpan delay, string json) : HttpMessageHandler
    {
        private int _calls;

        public int Calls => _calls;

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _calls);
            await Task.Delay(request.Method == HttpMethod.Get ? Timeout.InfiniteTimeSpan : delay, cancellationToken);
            return StubHandler.Json(HttpStatusCode.OK, json);
        }
    }
}
