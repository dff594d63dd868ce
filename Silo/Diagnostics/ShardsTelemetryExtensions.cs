using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using Orleans.Dashboard;
using OrleansShards.Grains.Caching;
using OrleansShards.Grains.Diagnostics;
using OrleansShards.Silo.Http;
using OrleansShards.Silo.Security;

namespace OrleansShards.Silo.Diagnostics;

/// <summary>
/// Metrics through OpenTelemetry: the shards', cache's and silo's meters, Orleans' own, ASP.NET Core's (request rate,
/// latency and status by route; rate limiting), the runtime's (GC, thread pool, JIT) and the process's (CPU, memory,
/// threads), exported as Prometheus text at <c>/metrics</c> and, when <see cref="ShardMetricsOptions.OtlpEndpoint"/>
/// is configured, pushed with OTLP. The <c>shard</c> tag is dropped by a view unless
/// <see cref="ShardMetricsOptions.PerShardTags"/> is set. <c>/metrics</c> and <c>/dashboard</c> are operator routes.
/// </summary>
internal static class ShardsTelemetryExtensions
{
    /// <summary>The Prometheus scrape path.</summary>
    public const string MetricsPath = "/metrics";

    /// <summary>The Orleans Dashboard's path.</summary>
    public const string DashboardPath = "/dashboard";

    /// <summary>Orleans' runtime meter (activations, messaging, grain calls, …).</summary>
    private const string OrleansMeter = "Microsoft.Orleans";

    // Tags the shards' and cache's instruments may carry once the per-shard tag is dropped.
    private static readonly string[] TenantLevelTags = [ShardMetrics.TenantTag, "code", "operation", "outcome"];

    public static void AddShardsTelemetry(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<ShardMetricsOptions>().Bind(configuration.GetSection(ShardMetricsOptions.SectionName));
        services.TryAddSingleton<SiloMetrics>();
        var otlp = configuration.GetSection(ShardMetricsOptions.SectionName).Get<ShardMetricsOptions>()?.OtlpEndpoint;
        services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService("orleansshards"))
            .WithMetrics(metrics =>
            {
                metrics.AddMeter(ShardMetrics.MeterName, CacheMetrics.MeterName, SiloMetrics.MeterName, OrleansMeter)
                    .AddAspNetCoreInstrumentation()
                    .AddRuntimeInstrumentation()
                    .AddProcessInstrumentation()
                    .AddPrometheusExporter(prometheus => prometheus.ScrapeResponseCacheDurationMilliseconds = 0);
                if (metrics is IDeferredMeterProviderBuilder deferred)
                {
                    deferred.Configure(AddPerShardTagView);
                }

                if (otlp is not null)
                {
                    metrics.AddOtlpExporter(exporter => exporter.Endpoint = otlp);
                }
            });
    }

    /// <summary>
    /// Maps <c>GET /metrics</c> (Prometheus text) and, when <c>AddShardsSilo</c> added the Orleans Dashboard,
    /// <c>/dashboard</c>; both need an operator key when keys are configured.
    /// </summary>
    public static void MapShardsTelemetry(this IEndpointRouteBuilder endpoints)
    {
        var services = endpoints.ServiceProvider;
        // Resolved at the first request: the options behind it are validated when the host starts, not when routes are mapped.
        var authenticator = new Lazy<ApiKeyAuthenticator>(services.GetRequiredService<ApiKeyAuthenticator>);

        // Measured from the start, so the first scrape of a fresh silo already has the silo's gauges.
        _ = services.GetRequiredService<SiloMetrics>();
        endpoints.MapPrometheusScrapingEndpoint(MetricsPath, meterProvider: null, configureBranchedPipeline: branch => branch.Use(async (http, next) =>
        {
            if (await RefuseAsync(http, authenticator).ConfigureAwait(false))
            {
                return;
            }

            await next(http).ConfigureAwait(false);
        }), optionsName: null);

        if (services.GetService<ShardsDashboardMarker>() is not null)
        {
            endpoints.MapOrleansDashboard(DashboardPath).AddEndpointFilter(async (context, next) =>
            {
                try
                {
                    authenticator.Value.AuthorizeOperator(context.HttpContext.Request.Headers.Authorization);
                }
                catch (ShardException ex)
                {
                    return ShardsErrors.ToResult(ex.Code, ex.Message);
                }

                return await next(context).ConfigureAwait(false);
            });
        }
    }

    private static async Task<bool> RefuseAsync(HttpContext http, Lazy<ApiKeyAuthenticator> authenticator)
    {
        try
        {
            authenticator.Value.AuthorizeOperator(http.Request.Headers.Authorization);
            return false;
        }
        catch (ShardException ex)
        {
            await ShardsErrors.ToResult(ex.Code, ex.Message).ExecuteAsync(http).ConfigureAwait(false);
            return true;
        }
    }

    /// <summary>Registers that the silo has the Orleans Dashboard's services (added by <c>AddShardsSilo</c>).</summary>
    public static void AddShardsDashboardMarker(this IServiceCollection services) => services.TryAddSingleton<ShardsDashboardMarker>();

    /// <summary>Drops the <c>shard</c> tag of the shards' and cache's instruments unless per-shard tags are asked for.</summary>
    private static void AddPerShardTagView(IServiceProvider services, MeterProviderBuilder metrics)
    {
        if (services.GetRequiredService<IOptions<ShardMetricsOptions>>().Value.PerShardTags)
        {
            return;
        }

        metrics.AddView(static instrument => instrument.Meter.Name is ShardMetrics.MeterName or CacheMetrics.MeterName
            ? new MetricStreamConfiguration { TagKeys = TenantLevelTags }
            : null);
    }

    /// <summary>Present when the silo's Orleans Dashboard services were added by <c>AddShardsSilo</c>.</summary>
    private sealed class ShardsDashboardMarker;
}
