using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using Orleans.Configuration;
using Microsoft.Extensions.DependencyInjection;
using OrleansShards.Grains.Caching;
using OrleansShards.Grains.Cluster;
using OrleansShards.Grains.Hosting;
using OrleansShards.Grains.Streams.Redis;
using StackExchange.Redis;

namespace OrleansShards.Silo.Hosting;

/// <summary>
/// Cluster mode (<c>Shards:Cluster:Redis</c> set): Orleans membership and reminders in Redis, the ownership map,
/// the invalidation stream on Redis Streams and the Redis cache, with membership timings that declare a killed silo
/// dead within a few seconds.
/// </summary>
internal static class ShardsClusterHosting
{
    /// <summary>How long a silo waits for a probe answer, and how often it probes. Orleans' default is 5 s.</summary>
    public static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(1);

    /// <summary>Missed probes after which a silo votes another dead. Orleans' default is 3.</summary>
    public const int MissedProbesLimit = 2;

    /// <summary>Reads and validates <c>Shards:Cluster</c>; throws naming the option when a value is invalid.</summary>
    public static ShardClusterOptions Read(IConfiguration configuration)
    {
        var options = new ShardClusterOptions();
        configuration.GetSection(ShardClusterOptions.SectionName).Bind(options);
        var errors = Validate(options);
        if (errors.Count > 0)
        {
            throw new Microsoft.Extensions.Options.OptionsValidationException(ShardClusterOptions.SectionName, typeof(ShardClusterOptions), errors);
        }

        return options;
    }

    /// <summary>
    /// The environment variable Kubernetes sets in every container: when present the silo also uses
    /// Microsoft.Orleans.Hosting.Kubernetes (<see cref="Configure(ISiloBuilder, ShardClusterOptions, bool)"/>).
    /// </summary>
    public const string KubernetesServiceHostVariable = "KUBERNETES_SERVICE_HOST";

    /// <summary>True when the process runs in a Kubernetes pod (<see cref="KubernetesServiceHostVariable"/> is set).</summary>
    public static bool RunsInKubernetes => !string.IsNullOrEmpty(Environment.GetEnvironmentVariable(KubernetesServiceHostVariable));

    /// <summary>
    /// The pod name Microsoft.Orleans.Hosting.Kubernetes matches this silo to: <c>POD_NAME</c>, else the machine name
    /// (a pod's host name is its name).
    /// </summary>
    public static string KubernetesPodName =>
        Environment.GetEnvironmentVariable("POD_NAME") is { Length: > 0 } pod ? pod : Environment.MachineName;

    /// <summary>The problems of <paramref name="options"/>.</summary>
    public static List<string> Validate(ShardClusterOptions options) => Validate(options, RunsInKubernetes);

    /// <summary>
    /// The problems of <paramref name="options"/>: those of the generated <see cref="ShardClusterOptionsValidator"/>
    /// (ranges, fields that depend on each other), and with <paramref name="kubernetes"/> the rule of the host that the
    /// silo name is the pod name.
    /// </summary>
    public static List<string> Validate(ShardClusterOptions options, bool kubernetes)
    {
        var result = new ShardClusterOptionsValidator().Validate(ShardClusterOptions.SectionName, options);
        var errors = result.Failed ? result.Failures.ToList() : [];

        // The Kubernetes agent matches membership entries to pods by silo name and declares dead any active silo
        // without a pod of that name: a silo named otherwise would have its peers (or itself) killed.
        if (kubernetes && !string.Equals(options.EffectiveSiloName, KubernetesPodName, StringComparison.Ordinal))
        {
            errors.Add($"Shards:Cluster:SiloName must be the pod name under Kubernetes ('{KubernetesPodName}', from POD_NAME); it is '{options.EffectiveSiloName}'. Leave it unset or set it to $(POD_NAME).");
        }

        return errors;
    }

    /// <summary>Configures the silo for cluster mode; under Kubernetes (<see cref="RunsInKubernetes"/>) with its hosting package too.</summary>
    public static void Configure(ISiloBuilder silo, ShardClusterOptions cluster) => Configure(silo, cluster, RunsInKubernetes);

    /// <summary>
    /// As <see cref="Configure(ISiloBuilder, ShardClusterOptions)"/>, with the invalidation streams' keys under
    /// <paramref name="redisKeyPrefix"/> (<c>Shards:Redis:KeyPrefix</c>, the cache's prefix too) instead of the service's
    /// <c>{ServiceId}/</c>.
    /// </summary>
    public static void Configure(ISiloBuilder silo, ShardClusterOptions cluster, string? redisKeyPrefix) => Configure(silo, cluster, RunsInKubernetes, redisKeyPrefix);

    /// <summary>
    /// Configures the silo for cluster mode. With <paramref name="kubernetes"/>, Microsoft.Orleans.Hosting.Kubernetes
    /// is added: it labels the pod with the cluster's ids, and declares a silo dead as soon as its pod is deleted
    /// (instead of after missed probes). It also sets the cluster ids (from <c>ORLEANS_CLUSTER_ID</c> /
    /// <c>ORLEANS_SERVICE_ID</c>), the silo name (the pod name) and the advertised address (the pod IP) — these stay
    /// ours: <c>Shards:Cluster</c> is applied after it (post-configure) and the endpoints are set explicitly, which it
    /// leaves alone; the silo name must equal the pod name anyway (<see cref="Validate(ShardClusterOptions, bool)"/>).
    /// </summary>
    internal static void Configure(ISiloBuilder silo, ShardClusterOptions cluster, bool kubernetes, string? redisKeyPrefix = null)
    {
        var redis = ConfigurationOptions.Parse(cluster.Redis!);
        redis.AbortOnConnectFail = false;
        if (kubernetes)
        {
            silo.UseKubernetesHosting();
        }

        // One multiplexer for the silo's every Redis use: membership, reminders, the ownership map, the invalidation
        // stream and the cache (registered once; the cache's and the stream's registrations find it). Membership and
        // reminders take it as shared, so they leave it open when they stop; it closes when the host has stopped.
        silo.Services.AddShardsRedisConnection(cluster.Redis!, OwnershipConnectTimeout);
        silo.UseRedisClustering(o => o.ConfigurationOptions = redis.Clone());
        silo.UseRedisReminderService(o => o.ConfigurationOptions = redis.Clone());
        silo.Services.AddOptions<Orleans.Clustering.Redis.RedisClusteringOptions>().Configure<IServiceProvider>(static (o, sp) =>
            o.CreateMultiplexer = _ => SharedMultiplexerAsync(sp));
        silo.Services.AddOptions<RedisReminderTableOptions>().Configure<IServiceProvider>(static (o, sp) =>
            o.CreateMultiplexer = _ => SharedMultiplexerAsync(sp));

        // Post-configured: the ownership map's keys and the shards' files follow these values, so nothing else may
        // change them (not the Kubernetes hosting package, not a later Configure).
        silo.Services.PostConfigure<ClusterOptions>(o =>
        {
            o.ClusterId = cluster.ClusterId;
            o.ServiceId = cluster.ServiceId;
        });
        silo.Services.PostConfigure<SiloOptions>(o => o.SiloName = cluster.EffectiveSiloName);
        silo.ConfigureEndpoints(AdvertisedAddress(cluster), cluster.SiloPort, cluster.GatewayPort, listenOnAnyHostAddress: true);
        silo.Configure<ClusterMembershipOptions>(o =>
        {
            o.ProbeTimeout = ProbeTimeout;
            o.NumMissedProbesLimit = MissedProbesLimit;
            // A restarted silo (same name, new generation) replaces its dead entry; old entries go after a day.
            o.DefunctSiloExpiration = TimeSpan.FromDays(1);
        });
        silo.Services.Configure<ShardClusterOptions>(o =>
        {
            o.Redis = cluster.Redis;
            o.ClusterId = cluster.ClusterId;
            o.ServiceId = cluster.ServiceId;
            o.SiloName = cluster.EffectiveSiloName;
            o.SiloPort = cluster.SiloPort;
            o.GatewayPort = cluster.GatewayPort;
            o.AdvertisedAddress = cluster.AdvertisedAddress;
            o.ReplicationFactor = cluster.ReplicationFactor;
            o.ReplicationTimeout = cluster.ReplicationTimeout;
            o.ReplicaReplaceAfter = cluster.ReplicaReplaceAfter;
        });
        // Invalidations ride Redis: the memory stream carries only shard events.
        silo.AddShards(memoryStreamPullPeriod: ShardsSiloBuilderExtensions.ShardEventsPullPeriod);
        silo.Services.AddShardMovedRetry();
        silo.AddRedisStreams(ShardsSiloHostingExtensions.RedisStreamProvider, o =>
        {
            o.Configuration = cluster.Redis!;
            o.KeyPrefix = ShardsSiloHostingExtensions.StreamKeyPrefix(string.IsNullOrEmpty(redisKeyPrefix) ? cluster.ServiceId + "/" : redisKeyPrefix);
        });
        silo.Services.AddOptions<ShardCacheOptions>().Configure(o => o.StreamProvider = ShardsSiloHostingExtensions.RedisStreamProvider);
    }

    /// <summary>Connect timeout of the shared multiplexer in cluster mode (StackExchange.Redis' default is 5 s).</summary>
    public static readonly TimeSpan OwnershipConnectTimeout = TimeSpan.FromSeconds(2);

    /// <summary>The silo's shared multiplexer, handed to Orleans' Redis providers as shared (they do not dispose it).</summary>
    private static Task<(IConnectionMultiplexer Multiplexer, bool IsShared)> SharedMultiplexerAsync(IServiceProvider services) =>
        Task.Run(() => (services.GetRequiredService<IConnectionMultiplexer>(), true));

    /// <summary><see cref="ShardClusterOptions.AdvertisedAddress"/>, else <c>POD_IP</c>, else the first non-loopback IPv4 address.</summary>
    public static IPAddress AdvertisedAddress(ShardClusterOptions cluster)
    {
        if (cluster.AdvertisedAddress is { Length: > 0 } configured)
        {
            return IPAddress.Parse(configured);
        }

        if (Environment.GetEnvironmentVariable("POD_IP") is { Length: > 0 } pod && IPAddress.TryParse(pod, out var podIp))
        {
            return podIp;
        }

        return NetworkInterface.GetAllNetworkInterfaces()
            .Where(n => n.OperationalStatus == OperationalStatus.Up && n.NetworkInterfaceType != NetworkInterfaceType.Loopback)
            .SelectMany(n => n.GetIPProperties().UnicastAddresses)
            .Select(a => a.Address)
            .FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork && !IPAddress.IsLoopback(a))
            ?? IPAddress.Loopback;
    }
}
