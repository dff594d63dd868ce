using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using OrleansShards.Client.Http;

namespace OrleansShards.Client;

/// <summary>Registers <see cref="ShardsClient"/>: <c>services.AddShardsClient(o => o.Endpoints = [new("https://shards.example")])</c>.</summary>
public static class ShardsClientServiceCollectionExtensions
{
    /// <summary>The name of the <see cref="HttpClient"/> the client gets from <see cref="IHttpClientFactory"/>.</summary>
    public const string HttpClientName = "OrleansShards.Client";

    /// <summary>
    /// Adds <see cref="ShardsClient"/> as a singleton. Its <see cref="HttpClient"/> comes from
    /// <see cref="IHttpClientFactory"/> (named <see cref="HttpClientName"/>, so it can be configured further), with the
    /// client's resilience pipeline (Microsoft.Extensions.Http.Resilience) as its handler.
    /// Options are validated at host start and on first use; an invalid one fails naming the option.
    /// </summary>
    public static IServiceCollection AddShardsClient(this IServiceCollection services, Action<ShardsClientOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = services.AddOptions<ShardsClientOptions>().ValidateOnStart();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ShardsClientOptions>, ShardsClientOptionsValidator>());
        // The resilience pipeline (retry, then the attempt timeout) is the client's outer handler; the answer's body is
        // read inside each attempt, so the attempt's time limit and the retry cover it.
        var http = services.AddHttpClient(HttpClientName)
            .ConfigurePrimaryHttpMessageHandler(ShardsClient.CreateHandler)
            .ConfigureHttpClient(http => http.Timeout = Timeout.InfiniteTimeSpan);
        http.AddResilienceHandler(ShardsResilience.PipelineName, static (pipeline, context) =>
            ShardsResilience.Configure(pipeline, context.ServiceProvider.GetRequiredService<IOptions<ShardsClientOptions>>().Value));
        http.AddHttpMessageHandler(ShardsResilience.CreateBufferingHandler);
        services.TryAddSingleton(sp => new ShardsClient(
            sp.GetRequiredService<IHttpClientFactory>(),
            sp.GetRequiredService<IOptions<ShardsClientOptions>>().Value));
        return services;
    }
}
