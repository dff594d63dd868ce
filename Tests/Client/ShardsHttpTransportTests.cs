using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using OrleansShards.Client;

namespace OrleansShards.Tests.Client;

/// <summary>Retries, idempotency keys, error rebuilding and failover, with a scripted handler.</summary>
public sealed class ShardsHttpTransportTests
{
    private const string MutationOk = """{"changes":1,"lastInsertRowId":9,"bookmark":"b"}""";

    private static (ShardsClient Client, StubHandler Stub) Create(Func<int, HttpRequestMessage, HttpResponseMessage> answer, Action<ShardsClientOptions>? configure = null)
    {
        var stub = new StubHandler(answer);
        var options = new ShardsClientOptions
        {
            Endpoints = [new Uri("http://silo.test/")],
            RetryBaseDelay = TimeSpan.FromMilliseconds(1),
            MaxRetryDelay = TimeSpan.FromMilliseconds(5),
        };
        configure?.Invoke(options);
        return (new ShardsClient(new HttpClient(stub), options), stub);
    }

    private static string? Key(string body) =>
        JsonDocument.Parse(body).RootElement.TryGetProperty("idempotencyKey", out var key) ? key.GetString() : null;

    [Fact]
    public async Task MutateAsync_retries_RETRYABLE_with_one_idempotency_key_reused_by_every_attempt()
    {
        var (client, stub) = Create((n, _) => n < 3 ? StubHandler.Error(HttpStatusCode.ServiceUnavailable, "RETRYABLE") : StubHandler.Json(HttpStatusCode.OK, MutationOk));

        var result = await client.GetTable("acme", "items").MutateAsync(new MutationRequest("INSERT INTO items DEFAULT VALUES"));

        Assert.Equal(9, result.LastInsertRowId);
        Assert.Equal(3, stub.Requests.Count);
        var keys = stub.Requests.Select(r => Key(r.Body)).Distinct().ToList();
        Assert.True(Guid.TryParse(Assert.Single(keys), out _));
        Assert.All(stub.Requests, r => Assert.Equal("acme", r.Request.Headers.GetValues("X-Tenant-Id").Single()));
        Assert.All(stub.Requests, r => Assert.Equal("/v1/tables/items/mutation", r.Request.RequestUri!.AbsolutePath));
    }

    [Fact]
    public async Task MutateAsync_gets_a_new_key_per_logical_call()
    {
        var (client, stub) = Create((_, _) => StubHandler.Json(HttpStatusCode.OK, MutationOk));
        var shard = client.GetTable("acme", "items");

        await shard.MutateAsync(new MutationRequest("DELETE FROM items"));
        await shard.MutateAsync(new MutationRequest("DELETE FROM items"));

        Assert.NotEqual(Key(stub.Requests[0].Body), Key(stub.Requests[1].Body));
    }

    [Fact]
    public async Task MutateAsync_is_sent_once_when_idempotency_keys_are_disabled()
    {
        var (client, stub) = Create((_, _) => StubHandler.Error(HttpStatusCode.ServiceUnavailable, "RETRYABLE"), o => o.AddIdempotencyKeys = false);

        var error = await Assert.ThrowsAsync<ShardException>(() => client.GetTable("acme", "items").MutateAsync(new MutationRequest("DELETE FROM items")));

        Assert.Equal(ShardErrorCode.Retryable, error.Code);
        Assert.True(error.Retryable);
        Assert.Single(stub.Requests);
        Assert.Null(Key(stub.Requests[0].Body));
    }

    [Fact]
    public async Task MutateAsync_in_a_transaction_is_never_retried_and_gets_no_key()
    {
        var (client, stub) = Create((_, _) => StubHandler.Error(HttpStatusCode.ServiceUnavailable, "RETRYABLE"));

        await Assert.ThrowsAsync<ShardException>(() => client.GetTable("acme", "items").MutateAsync(new MutationRequest("DELETE FROM items", TransactionId: "tx1")));

        Assert.Single(stub.Requests);
        Assert.Null(Key(stub.Requests[0].Body));
    }

    [Fact]
    public async Task Commit_and_batch_carry_a_key_and_DDL_is_not_retried()
    {
        var (client, stub) = Create((_, r) => r.RequestUri!.AbsolutePath.EndsWith("/ddl", StringComparison.Ordinal)
            ? StubHandler.Error(HttpStatusCode.ServiceUnavailable, "RETRYABLE")
            : r.RequestUri.AbsolutePath.EndsWith("/batch", StringComparison.Ordinal)
                ? StubHandler.Json(HttpStatusCode.OK, """{"results":[{"changes":1,"lastInsertRowId":1,"columns":null,"rows":null}],"bookmark":"b"}""")
                : StubHandler.Json(HttpStatusCode.OK, """{"transactionId":"tx1","results":[],"bookmark":"b"}"""));
        var shard = client.GetTable("acme", "items");

        await shard.BatchAsync(new BatchRequest([new Statement("DELETE FROM items")]));
        var commit = await shard.TransactionAsync(new TransactionRequest(TransactionOperation.Commit, "tx1"));
        await Assert.ThrowsAsync<ShardException>(() => shard.DdlAsync(new DdlRequest("CREATE TABLE x (a)")));

        Assert.NotNull(Key(stub.Requests[0].Body));
        Assert.NotNull(Key(stub.Requests[1].Body));
        Assert.Contains("\"operation\":\"COMMIT\"", stub.Requests[1].Body, StringComparison.Ordinal);
        Assert.Equal("b", commit.Bookmark);
        Assert.Equal(3, stub.Requests.Count);
    }

    [Fact]
    public async Task QueryAsync_retries_OVERLOADED_up_to_MaxRetries_then_raises_it()
    {
        var (client, stub) = Create((_, _) => StubHandler.Error(HttpStatusCode.TooManyRequests, "OVERLOADED"), o => o.MaxRetries = 2);

        var error = await Assert.ThrowsAsync<ShardException>(() => client.GetTable("acme", "items").QueryAsync(new QueryRequest("SELECT 1")));

        Assert.Equal(ShardErrorCode.Overloaded, error.Code);
        Assert.Equal("scripted OVERLOADED", error.Message);
        Assert.Equal(3, stub.Requests.Count);
    }

    [Theory]
    [InlineData(HttpStatusCode.Conflict, "CONFLICT_UNIQUE", ShardErrorCode.ConflictUnique)]
    [InlineData(HttpStatusCode.Conflict, "TX_NOT_FOUND", ShardErrorCode.TxNotFound)]
    [InlineData(HttpStatusCode.InsufficientStorage, "CAPACITY_EXCEEDED", ShardErrorCode.CapacityExceeded)]
    [InlineData(HttpStatusCode.RequestEntityTooLarge, "PAYLOAD_TOO_LARGE", ShardErrorCode.PayloadTooLarge)]
    public async Task Errors_are_rebuilt_with_the_same_code_and_not_retried(HttpStatusCode status, string wire, ShardErrorCode code)
    {
        var (client, stub) = Create((_, _) => StubHandler.Error(status, wire));

        var error = await Assert.ThrowsAsync<ShardException>(() => client.GetTable("acme", "items").QueryAsync(new QueryRequest("SELECT 1")));

        Assert.Equal(code, error.Code);
        Assert.Single(stub.Requests);
    }

    [Fact]
    public async Task Errors_without_the_json_shape_get_a_code_from_the_status()
    {
        var (client, _) = Create((_, _) => new HttpResponseMessage(HttpStatusCode.BadGateway) { Content = new StringContent("<html>proxy</html>") }, o => o.MaxRetries = 0);

        var error = await Assert.ThrowsAsync<ShardException>(() => client.GetTable("acme", "items").GetStatsAsync());

        Assert.Equal(ShardErrorCode.Retryable, error.Code);
        Assert.Contains("502", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Calls_raise_TIMEOUT_when_the_silo_does_not_answer_within_Timeout()
    {
        var stub = new SlowHandler();
        using var client = new ShardsClient(new HttpClient(stub), new ShardsClientOptions { Endpoints = [new Uri("http://silo.test")], Timeout = TimeSpan.FromMilliseconds(50) });

        var error = await Assert.ThrowsAsync<ShardException>(() => client.GetTable("acme", "items").QueryAsync(new QueryRequest("SELECT 1")));

        Assert.Equal(ShardErrorCode.Timeout, error.Code);
        Assert.Contains("ShardsClientOptions.Timeout", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Calls_move_to_the_next_endpoint_when_one_refuses_connections()
    {
        var closedPort = ClosedLoopbackPort();
        var (client, stub) = Create(
            (_, _) => StubHandler.Json(HttpStatusCode.OK, """{"bookmark":"0000000000000001.acme.items"}"""),
            o => o.Endpoints = [new Uri($"http://127.0.0.1:{closedPort}"), new Uri("http://second.test")]);
        var failing = new FailFirstHostHandler(stub, $"127.0.0.1:{closedPort}");
        using var failover = new ShardsClient(new HttpClient(failing), client.Options);

        var result = await failover.GetTable("acme", "items").GetBookmarkAsync(new BookmarkRequest());
        await failover.GetTable("acme", "items").GetBookmarkAsync(new BookmarkRequest());

        Assert.Equal("0000000000000001.acme.items", result.Bookmark);
        Assert.Equal(1, failing.Refused);
        Assert.All(stub.Requests, r => Assert.Equal("second.test", r.Request.RequestUri!.Host));
    }

    [Fact]
    public async Task Calls_raise_HttpRequestException_after_the_retries_when_no_silo_listens()
    {
        using var client = new ShardsClient(new ShardsClientOptions
        {
            Endpoints = [new Uri($"http://127.0.0.1:{ClosedLoopbackPort()}")],
            MaxRetries = 1,
            RetryBaseDelay = TimeSpan.FromMilliseconds(1),
        });

        var error = await Assert.ThrowsAsync<HttpRequestException>(() => client.GetTable("acme", "items").MutateAsync(new MutationRequest("DELETE FROM items")));

        Assert.Equal(HttpRequestError.ConnectionError, error.HttpRequestError);
    }

    internal static int ClosedLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    private sealed class SlowHandler : HttpMessageHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            await Task.Delay(Timeout.Infinite, cancellationToken);
            throw new InvalidOperationException("unreachable");
        }
    }

    /// <summary>Refuses (as a closed port does) requests to one host, passes the others to the stub.</summary>
    private sealed class FailFirstHostHandler(StubHandler inner, string refusedAuthority) : DelegatingHandler(inner)
    {
        public int Refused { get; private set; }

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (request.RequestUri!.Authority == refusedAuthority)
            {
                Refused++;
                throw new HttpRequestException(HttpRequestError.ConnectionError, "Connection refused", new SocketException((int)SocketError.ConnectionRefused));
            }

            return base.SendAsync(request, cancellationToken);
        }
    }
}
