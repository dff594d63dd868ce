using System.Globalization;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using OrleansShards.Grains.Caching;
using OrleansShards.Grains.Hosting;
using OrleansShards.Grains.Hosting.Reminders;
using OrleansShards.Grains.Streams.Redis;
using OrleansShards.Silo.Diagnostics;
using OrleansShards.Silo.Http;
using Orleans.Dashboard;
using OrleansShards.Silo.Security;

namespace OrleansShards.Silo.Hosting;

/// <summary>
/// Hosts the silo in any ASP.NET Core app: <c>builder.AddShardsSilo(); var app = builder.Build(); app.MapShardsApi();</c>.
/// </summary>
public static class ShardsSiloHostingExtensions
{
    /// <summary>Configuration key of the Orleans silo-to-silo port. Default <see cref="DefaultSiloPort"/>.</summary>
    public const string SiloPortKey = "Shards:Cluster:SiloPort";

    /// <summary>Configuration key of the Orleans client gateway port. Default <see cref="DefaultGatewayPort"/>.</summary>
    public const string GatewayPortKey = "Shards:Cluster:GatewayPort";

    /// <summary>Configuration key of the Redis connection string of the cache and of the invalidation stream.</summary>
    public const string RedisConfigurationKey = "Shards:Redis:Configuration";

    /// <summary>The prefix of the shards' cache and stream keys in Redis (<see cref="RedisCacheOptions.KeyPrefix"/>).</summary>
    public const string RedisKeyPrefixKey = "Shards:Redis:KeyPrefix";

    /// <summary>The Orleans stream provider on Redis Streams that carries invalidations when Redis is configured.</summary>
    public const string RedisStreamProvider = "redis";

    /// <summary>Orleans' silo-to-silo port unless configured.</summary>
    public const int DefaultSiloPort = 11111;

    /// <summary>Orleans' client gateway port unless configured.</summary>
    public const int DefaultGatewayPort = 30000;

    /// <summary>
    /// The embedded silo: an Orleans silo in this process (<c>UseOrleans</c> with localhost clustering on
    /// <see cref="SiloPortKey"/> and <see cref="GatewayPortKey"/>, Orleans' reminder service on a SQLite table in <c>{DataDirectory}/.silo/reminders.db</c>, the in-memory stream
    /// provider <c>default</c>, the TableShard grains — see <c>ISiloBuilder.AddShards</c>) plus
    /// <see cref="AddShardsApi"/>. To configure Orleans yourself, call <c>builder.UseOrleans(silo =&gt; …AddShards())</c>
    /// and <see cref="AddShardsApi"/> instead.
    /// </summary>
    public static IHostApplicationBuilder AddShardsSilo(this IHostApplicationBuilder builder, Action<ShardsSiloOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var cluster = ShardsClusterHosting.Read(builder.Configuration);
        if (cluster.Enabled)
        {
            // One Redis for everything: the cache and the invalidation stream follow the cluster's, their keys under the
            // service's prefix (as the ownership map's) so that two services sharing the Redis never mix their entries.
            builder.Configuration[RedisConfigurationKey] = cluster.Redis;
            if (string.IsNullOrEmpty(builder.Configuration[RedisKeyPrefixKey]))
            {
                builder.Configuration[RedisKeyPrefixKey] = cluster.ServiceId + "/";
            }

            var clusterKeyPrefix = builder.Configuration[RedisKeyPrefixKey];
            builder.UseOrleans(silo => ShardsClusterHosting.Configure(silo, cluster, clusterKeyPrefix));
            return builder.AddShardsApi(configure);
        }

        var siloPort = cluster.SiloPort;
        var gatewayPort = cluster.GatewayPort;
        var redis = builder.Configuration[RedisConfigurationKey];
        var keyPrefix = builder.Configuration[RedisKeyPrefixKey];
        builder.UseOrleans(silo =>
        {
            silo.UseLocalhostClustering(siloPort, gatewayPort);
            silo.UseSqliteReminderService(static _ => { });

            // With Redis, invalidations ride Redis Streams and the memory stream carries only shard events.
            silo.AddShards(memoryStreamPullPeriod: string.IsNullOrEmpty(redis) ? null : ShardsSiloBuilderExtensions.ShardEventsPullPeriod);
            if (DashboardEnabled(builder.Configuration, configure))
            {
                silo.AddDashboard();
                silo.Services.AddShardsDashboardMarker();
            }

            if (!string.IsNullOrEmpty(redis))
            {
                // Invalidation events ride Redis Streams (durable, acknowledged after delivery) instead of memory.
                silo.AddRedisStreams(RedisStreamProvider, o =>
                {
                    o.Configuration = redis;
                    o.KeyPrefix = StreamKeyPrefix(keyPrefix);
                });
                silo.Services.AddOptions<ShardCacheOptions>().Configure(o => o.StreamProvider = RedisStreamProvider);
            }
        });
        return builder.AddShardsApi(configure);
    }

    /// <summary>
    /// Adds the HTTP API's services and the shards' options to an app whose Orleans silo has <c>AddShards()</c>.
    /// Options come from the configuration section <c>Shards</c> (and
    /// <c>MAX_SHARD_SIZE_GB</c>), then <paramref name="configure"/>; they are validated when the host starts.
    /// <c>Shards:TableShard</c> binds <see cref="TableShardOptions"/> and <c>Shards:Pitr</c> binds the change-log options.
    /// </summary>
    public static IHostApplicationBuilder AddShardsApi(this IHostApplicationBuilder builder, Action<ShardsSiloOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        var configuration = builder.Configuration;
        var section = configuration.GetSection(ShardsSiloOptions.SectionName);

        // Requests Kestrel refuses before any middleware (a NUL in a header or the path) get the JSON error answer too.
        services.Configure<Microsoft.AspNetCore.Server.Kestrel.Core.KestrelServerOptions>(MalformedRequestAnswer.Install);

        var options = services.AddOptions<ShardsSiloOptions>()
            .Configure(o => ApplyMaxShardSizeVariable(o, configuration[ShardsSiloOptions.MaxShardSizeGbVariable]))
            .Bind(section)
            .ValidateOnStart();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ShardsSiloOptions>, ShardsSiloOptionsValidator>());

        // The embedded reminder table lives beside the shards, unless the silo's configuration named another file.
        services.AddOptions<SqliteReminderTableOptions>().Configure<IOptions<ShardsSiloOptions>>((reminders, silo) =>
        {
            if (string.IsNullOrEmpty(reminders.DatabasePath))
            {
                reminders.DatabasePath = Path.Combine(GetDataDirectory(silo.Value), ".silo", "reminders.db");
            }
        });

        services.AddOptions<TableShardOptions>()
            .Bind(section.GetSection("TableShard"))
            .Configure<IOptions<ShardsSiloOptions>>((shards, silo) =>
            {
                shards.DataDirectory = GetDataDirectory(silo.Value);
                shards.MaxShardSizeBytes = silo.Value.EffectiveMaxShardSizeBytes;
            });

        // Cache: Shards:Cache binds ShardCacheOptions; with Shards:Redis:Configuration set, Redis serves as the
        // cache store and carries the invalidation stream (provider "redis"); otherwise both stay in memory.
        services.AddShardCache();
        services.AddOptions<ShardCacheOptions>().Bind(section.GetSection("Cache"));
        var redis = section.GetSection("Redis");
        if (redis["Configuration"] is { Length: > 0 } redisConfiguration)
        {
            services.AddRedisCache(o => o.Configuration = redisConfiguration);
            services.AddOptions<RedisCacheOptions>().Bind(redis);
        }

        services.AddOptions<OrleansShards.Grains.Pitr.PitrOptions>().Bind(section.GetSection("Pitr"));
        services.AddOptions<OrleansShards.Grains.Operations.OperationOptions>().Bind(section.GetSection("Operations"));

        services.ConfigureHttpJsonOptions(json => json.SerializerOptions.TypeInfoResolverChain.Insert(0, ShardsJsonContext.Default));
        services.TryAddSingleton<ApiKeyAuthenticator>();
        services.TryAddSingleton<ShardsRequestLimiter>();
        services.AddOptions<TenantLimitOptions>().Bind(configuration.GetSection(TenantLimitOptions.SectionName)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<TenantLimitOptions>, TenantLimitOptionsValidator>());
        services.TryAddSingleton<TenantRequestLimiter>();
        services.TryAddSingleton<TenantStorageQuota>();
        services.TryAddSingleton<AnonymousAccessGuard>();
        services.AddHostedService(static sp => sp.GetRequiredService<AnonymousAccessGuard>());
        services.TryAddSingleton<ShardRequestContext>();
        services.TryAddSingleton<HealthCheck>();
        services.AddShardsTelemetry(configuration);
        return builder;
    }

    /// <summary>
    /// Maps the HTTP API: <c>/v1/tables/{table}/…</c>, a JSON <c>NOT_FOUND</c> for unknown <c>/v1</c> routes,
    /// <c>GET /health</c>, <c>GET /metrics</c> (Prometheus text from OpenTelemetry) and, when <see cref="AddShardsSilo"/>
    /// added the Orleans Dashboard (unless <c>Shards:Dashboard</c> is false), <c>/dashboard</c>. With keys configured, <c>/metrics</c> and <c>/dashboard</c> need an operator key
    /// (<c>Shards:OperatorKeys</c>). Requires <see cref="AddShardsSilo"/>.
    /// </summary>
    public static IEndpointRouteBuilder MapShardsApi(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var services = endpoints.ServiceProvider;
        if (services.GetService<IServiceProviderIsService>() is { } isService && !isService.IsService(typeof(ShardRequestContext)))
        {
            throw new InvalidOperationException("MapShardsApi needs the silo's services: call builder.AddShardsSilo() before building the app.");
        }

        var api = new ShardsApi(services);
        var v1 = endpoints.MapGroup("/v1");
        var tables = v1.MapGroup("/tables/{table}");
        TableEndpoints.Map(tables, api);
        ShardingEndpoints.Map(tables, api);
        ClusterEndpoints.Map(v1, tables, api);
        OperationEndpoints.Map(v1, api);
        v1.MapFallback("{**path}", api.Handle(static (http, _, _) =>
            Task.FromException<IResult>(new ShardException(ShardErrorCode.NotFound, $"No route {http.Request.Method} {http.Request.Path}."))));

        endpoints.MapGet("/health", static (HealthCheck health) => health.Check());
        endpoints.MapShardsTelemetry();
        return endpoints;
    }

    /// <summary>The invalidation stream's key prefix under the shards' Redis key prefix (<see cref="RedisKeyPrefixKey"/>).</summary>
    internal static string StreamKeyPrefix(string? keyPrefix) => (keyPrefix ?? string.Empty) + new OrleansShards.Grains.Streams.Redis.RedisStreamOptions().KeyPrefix;

    /// <summary>The data directory as a full path (relative paths are under the working directory).</summary>
    internal static string GetDataDirectory(ShardsSiloOptions options) => Path.GetFullPath(options.DataDirectory);

    /// <summary><c>Shards:Dashboard</c> after <paramref name="configure"/>; a value that is not a boolean fails later, in validation, naming the option.</summary>
    private static bool DashboardEnabled(IConfiguration configuration, Action<ShardsSiloOptions>? configure)
    {
        var probe = new ShardsSiloOptions();
        if (bool.TryParse(configuration["Shards:Dashboard"], out var configured))
        {
            probe.Dashboard = configured;
        }

        configure?.Invoke(probe);
        return probe.Dashboard;
    }

    private static void ApplyMaxShardSizeVariable(ShardsSiloOptions options, string? value)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            return;
        }

        // An unparsable value becomes NaN so that validation fails naming the option.
        options.MaxShardSizeGb = double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var gb) ? gb : double.NaN;
    }
}
