using Microsoft.Extensions.Hosting;
using Orleans.Configuration;
using StackExchange.Redis;

namespace OrleansShards.Samples.ClusterClient;

/// <summary>
/// Connects an Orleans client to an OrleansShards cluster: the gateways are read from the cluster's Redis membership
/// table (Microsoft.Orleans.Clustering.Redis), so the client follows silos as they come and go and moves to another
/// gateway when the one it uses dies. <see cref="ClusterId"/> and <see cref="ServiceId"/> must be the silos'
/// <c>Shards:Cluster:ClusterId</c> / <c>ServiceId</c>.
/// </summary>
public sealed class ShardsClusterClient
{
    /// <summary>The configuration section the silos read: the same keys work here.</summary>
    public const string SectionName = "Shards:Cluster";

    /// <summary>The cluster's Redis connection string (the silos' <c>Shards:Cluster:Redis</c>).</summary>
    public string Redis { get; set; } = "127.0.0.1:6379";

    /// <summary>The silos' Orleans cluster id. Default <c>orleansshards</c>, as on the silos.</summary>
    public string ClusterId { get; set; } = "orleansshards";

    /// <summary>The silos' Orleans service id. Default <c>orleansshards</c>, as on the silos.</summary>
    public string ServiceId { get; set; } = "orleansshards";

    /// <summary>
    /// How often the client re-reads the gateway list from Redis. Orleans' default is one minute; a dead gateway is
    /// dropped at once when its connection breaks, this only matters for finding new silos.
    /// </summary>
    public TimeSpan GatewayListRefreshPeriod { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Configures <paramref name="client"/> for the cluster described by this instance.</summary>
    public void Configure(IClientBuilder client)
    {
        ArgumentNullException.ThrowIfNull(client);
        var redis = ConfigurationOptions.Parse(Redis);
        // Start even while Redis is restarting; calls wait for a gateway instead.
        redis.AbortOnConnectFail = false;
        client.UseRedisClustering(o => o.ConfigurationOptions = redis);
        client.Configure<ClusterOptions>(o =>
        {
            o.ClusterId = ClusterId;
            o.ServiceId = ServiceId;
        });
        client.Configure<GatewayOptions>(o => o.GatewayListRefreshPeriod = GatewayListRefreshPeriod);
    }
}
