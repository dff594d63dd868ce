using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Http.Resilience;
using OrleansShards.Client;

namespace OrleansShards.Tests.Client;

/// <summary>The client's retries run in its HttpClient's Microsoft.Extensions.Http.Resilience pipeline (AddShardsClient).</summary>
public sealed class ShardsClientResilienceTests
{
    private static (ServiceProvider Services, StubHandler Stub) Build(Func<int, HttpRequestMessage, HttpResponseMessage> answer)
    {
        var stub = new StubHandler(answer);
        var services = new ServiceCollection()
            .AddShardsClient(o =>
            {
                o.Endpoints = [new Uri("http://silo.test")];
                o.RetryBaseDelay = TimeSpan.FromMilliseconds(1);
                o.MaxRetryDelay = TimeSpan.FromMilliseconds(5);
            });
        services.AddHttpClient(ShardsClientServiceCollectionExtensions.HttpClientName).ConfigurePrimaryHttpMessageHandler(() => stub);
        return (services.BuildServiceProvider(), stub);
    }

    [Fact]
    public void AddShardsClient_puts_a_resilience_handler_in_the_clients_handler_chain()
    {
        var (services, _) = Build((_, _) => StubHandler.Json(HttpStatusCode.OK, "{}"));
        using (services)
        {
            HttpMessageHandler? handler = services.GetRequiredService<IHttpMessageHandlerFactory>().CreateHandler(ShardsClientServiceCollectionExtensions.HttpClientName);
            var chain = new List<Type>();
            while (handler is DelegatingHandler delegating)
            {
                chain.Add(delegating.GetType());
                handler = delegating.InnerHandler;
            }

            Assert.Contains(typeof(ResilienceHandler), chain);
        }
    }

    [Fact]
    public async Task A_read_answered_RETRYABLE_is_retried_by_the_pipeline_and_succeeds()
    {
        var (services, stub) = Build((n, _) => n == 1
            ? StubHandler.Error(HttpStatusCode.ServiceUnavailable, "RETRYABLE")
            : StubHandler.Json(HttpStatusCode.OK, """{"columns":["x"],"rows":[[1]],"rowsRead":1,"meta":{"servedBy":"shard","ageMs":0}}"""));
        using (services)
        {
            var shard = services.GetRequiredService<ShardsClient>().GetTable("t1", "items");
            var result = await shard.QueryAsync(new QueryRequest("SELECT 1 AS x"));
            Assert.Equal(1, result.Rows[0][0].AsInteger);
            Assert.Equal(2, stub.Requests.Count);
        }
    }

    [Fact]
    public async Task A_DDL_answered_RETRYABLE_is_sent_once()
    {
        var (services, stub) = Build((_, _) => StubHandler.Error(HttpStatusCode.ServiceUnavailable, "RETRYABLE"));
        using (services)
        {
            var shard = services.GetRequiredService<ShardsClient>().GetTable("t1", "items");
            var error = await Assert.ThrowsAsync<ShardException>(() => shard.DdlAsync(new DdlRequest("CREATE TABLE items (id INTEGER PRIMARY KEY)")));
            Assert.Equal(ShardErrorCode.Retryable, error.Code);
            Assert.Single(stub.Requests);
        }
    }
}
