using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using Orleans.Configuration;
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

    /// <summary>The problems of <paramref name="options"/>, each naming its key.</summary>
    public static List<string> Validate(ShardClusterOptions options)
    {
        var errors = new List<string>();
        if (options.SiloPort is < 1 or > 65535)
        {
            errors.Add($"Shards:Cluster:SiloPort must be a port number (1-65535); it is {options.SiloPort}.");
        }

        if (options.GatewayPort is < 1 or > 65535)
        {
            errors.Add($"Shards:Cluster:GatewayPort must be a port number (1-65535); it is {options.GatewayPort}.");
        }

        if (options.SiloPort == options.GatewayPort)
        {
            errors.Add("Shards:Cluster:SiloPort and Shards:Cluster:GatewayPort must differ.");
        }

        if (!options.Enabled)
        {
            return errors;
        }

        try
        {
            _ = ConfigurationOptions.Parse(options.Redis!);
        }
        catch (Exception ex) when (ex is ArgumentException or RedisException)
        {
            errors.Add($"Shards:Cluster:Redis is not a Redis connection string: {ex.Message}");
        }

        foreach (var (key, value) in new[] { ("ClusterId", options.ClusterId), ("ServiceId", options.ServiceId), ("SiloName", options.EffectiveSiloName) })
        {
            if (string.IsNullOrWhiteSpace(value) || value.Length > 128 || !value.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))
            {
                errors.Add($"Shards:Cluster:{key} must be 1-128 characters of letters, digits, '-', '_' or '.'; it is '{value}'.");
            }
        }

        if (options.AdvertisedAddress is { Length: > 0 } address && !IPAddress.TryParse(address, out _))
        {
            errors.Add($"Shards:Cluster:AdvertisedAddress must be an IP address; it is '{address}'.");
        }

        if (options.ReplicationFactor is < 1 or > 7)
        {
            errors.Add($"Shards:Cluster:ReplicationFactor must be between 1 and 7; it is {options.ReplicationFactor}.");
        }

        return errors;
    }

    /// <summary>Configures the silo for cluster mode.</summary>
    public static void Configure(ISiloBuilder silo, ShardClusterOptions cluster)
    {
        var redis = ConfigurationOptions.Parse(cluster.Redis!);
        redis.AbortOnConnectFail = false;
        silo.UseRedisClustering(o => o.ConfigurationOptions = redis.Clone());
        silo.UseRedisReminderService(o => o.ConfigurationOptions = redis.Clone());
        silo.Configure<ClusterOptions>(o =>
        {
            o.ClusterId = cluster.ClusterId;
            o.ServiceId = cluster.ServiceId;
        });
        silo.Configure<SiloOptions>(o => o.SiloName = cluster.EffectiveSiloName);
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
        });
        silo.AddShards();
        silo.AddRedisStreams(ShardsSiloHostingExtensions.RedisStreamProvider, o => o.Configuration = cluster.Redis!);
        silo.Services.AddOptions<ShardCacheOptions>().Configure(o => o.StreamProvider = ShardsSiloHostingExtensions.RedisStreamProvider);
    }

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
