using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Hosting.Kubernetes;
using OrleansShards.Grains.Cluster;
using OrleansShards.Grains.Hosting;
using OrleansShards.Silo.Hosting;

namespace OrleansShards.Tests.Deploy;

/// <summary>
/// <see cref="ShardsClusterHosting"/> under Kubernetes: Microsoft.Orleans.Hosting.Kubernetes is added, and what it
/// configures (cluster ids from ORLEANS_CLUSTER_ID / ORLEANS_SERVICE_ID, silo name from the pod, advertised address
/// from the pod IP) does not override <c>Shards:Cluster</c>. The silo host is built, not started: starting it needs a
/// Kubernetes API server, which this machine does not have.
/// </summary>
public sealed class ShardsClusterHostingKubernetesTests
{
    private static ShardClusterOptions Cluster() => new()
    {
        Redis = "127.0.0.1:1,abortConnect=false",
        ClusterId = "our-cluster",
        ServiceId = "our-service",
        SiloName = "silo-2",
        SiloPort = 11111,
        GatewayPort = 30000,
        AdvertisedAddress = "10.1.2.3",
    };

    private static IHost Build(ShardClusterOptions cluster, bool kubernetes, out bool agentRegistered)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.UseOrleans(silo => ShardsClusterHosting.Configure(silo, cluster, kubernetes));

        // Registered, not resolved: the agent's constructor reads the in-cluster service account, absent here.
        agentRegistered = builder.Services.Any(d => d.ServiceType == typeof(ILifecycleParticipant<ISiloLifecycle>) && d.ImplementationType == typeof(KubernetesClusterAgent));
        return builder.Build();
    }

    [Fact]
    public void Configure_under_kubernetes_adds_the_agent_and_keeps_our_ids_name_and_endpoints()
    {
        // What the Kubernetes package would apply if it won: other ids, the pod's namespace; the silo name it would
        // take is POD_NAME or the machine name, never "silo-2" here.
        var saved = new[] { "ORLEANS_CLUSTER_ID", "ORLEANS_SERVICE_ID", "POD_NAMESPACE" }.ToDictionary(v => v, Environment.GetEnvironmentVariable);
        Environment.SetEnvironmentVariable("ORLEANS_CLUSTER_ID", "their-cluster");
        Environment.SetEnvironmentVariable("ORLEANS_SERVICE_ID", "their-service");
        Environment.SetEnvironmentVariable("POD_NAMESPACE", "orleansshards");
        try
        {
            using var host = Build(Cluster(), kubernetes: true, out var agent);
            var services = host.Services;
            Assert.True(agent, "KubernetesClusterAgent is not registered");
            var cluster = services.GetRequiredService<IOptions<ClusterOptions>>().Value;
            Assert.Equal("our-cluster", cluster.ClusterId);
            Assert.Equal("our-service", cluster.ServiceId);
            Assert.Equal("silo-2", services.GetRequiredService<IOptions<SiloOptions>>().Value.SiloName);
            var endpoints = services.GetRequiredService<IOptions<EndpointOptions>>().Value;
            Assert.Equal(IPAddress.Parse("10.1.2.3"), endpoints.AdvertisedIPAddress);
            Assert.Equal(11111, endpoints.SiloPort);
            Assert.Equal(30000, endpoints.GatewayPort);
            Assert.Equal(new IPEndPoint(IPAddress.Any, 11111), endpoints.SiloListeningEndpoint);
            Assert.Equal(new IPEndPoint(IPAddress.Any, 30000), endpoints.GatewayListeningEndpoint);
        }
        finally
        {
            foreach (var (name, value) in saved)
            {
                Environment.SetEnvironmentVariable(name, value);
            }
        }
    }

    [Fact]
    public void Configure_outside_kubernetes_does_not_add_the_agent()
    {
        using var host = Build(Cluster(), kubernetes: false, out var agent);
        Assert.False(agent, "KubernetesClusterAgent is registered outside Kubernetes");
        Assert.Equal("silo-2", host.Services.GetRequiredService<IOptions<SiloOptions>>().Value.SiloName);
    }

    [Fact]
    public void In_cluster_mode_the_memory_stream_carries_only_shard_events_and_is_pulled_at_orleans_default_period()
    {
        // Invalidations ride Redis there: polling the memory stream's queues every 5 ms (the embedded latency floor)
        // would be thousands of idle grain calls a second across the cluster.
        using var cluster = Build(Cluster(), kubernetes: false, out _);
        var pulled = cluster.Services.GetRequiredService<IOptionsMonitor<StreamPullingAgentOptions>>();
        Assert.Equal(ShardsSiloBuilderExtensions.ShardEventsPullPeriod, pulled.Get(ShardsSiloBuilderExtensions.DefaultStreamProvider).GetQueueMsgsTimerPeriod);
        Assert.Equal(TimeSpan.FromMilliseconds(100), ShardsSiloBuilderExtensions.ShardEventsPullPeriod);

        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.UseOrleans(silo => silo.UseLocalhostClustering().AddShards());
        using var embedded = builder.Build();
        Assert.Equal(ShardsSiloBuilderExtensions.MemoryStreamPullPeriod, embedded.Services.GetRequiredService<IOptionsMonitor<StreamPullingAgentOptions>>()
            .Get(ShardsSiloBuilderExtensions.DefaultStreamProvider).GetQueueMsgsTimerPeriod);
    }

    [Fact]
    public void Validate_under_kubernetes_refuses_a_silo_name_other_than_the_pod_name()
    {
        var cluster = Cluster();
        cluster.SiloName = "not-" + ShardsClusterHosting.KubernetesPodName;
        var errors = ShardsClusterHosting.Validate(cluster, kubernetes: true);
        Assert.Contains(errors, e => e.StartsWith("Shards:Cluster:SiloName must be the pod name", StringComparison.Ordinal));
        Assert.Empty(ShardsClusterHosting.Validate(cluster, kubernetes: false));

        cluster.SiloName = ShardsClusterHosting.KubernetesPodName;
        Assert.Empty(ShardsClusterHosting.Validate(cluster, kubernetes: true));
    }

    [Theory]
    [InlineData("SiloPort", "Shards:Cluster.SiloPort must be between 1 and 65535")]
    [InlineData("GatewayPort", "Shards:Cluster.GatewayPort must be between 1 and 65535")]
    [InlineData("SamePorts", "Shards:Cluster:SiloPort and Shards:Cluster:GatewayPort must differ")]
    [InlineData("ReplicationFactor", "Shards:Cluster.ReplicationFactor must be between 1 and 7")]
    [InlineData("ReplicationTimeout", "Shards:Cluster.ReplicationTimeout must be between")]
    [InlineData("ReplicaReplaceAfter", "Shards:Cluster.ReplicaReplaceAfter must be between")]
    [InlineData("Redis", "Shards:Cluster:Redis is not a Redis connection string")]
    [InlineData("ClusterId", "Shards:Cluster:ClusterId must be 1-128 characters")]
    [InlineData("ServiceId", "Shards:Cluster:ServiceId must be 1-128 characters")]
    [InlineData("SiloName", "Shards:Cluster:SiloName must be 1-128 characters")]
    [InlineData("AdvertisedAddress", "Shards:Cluster:AdvertisedAddress must be an IP address")]
    public void The_generated_validator_refuses_each_bad_cluster_option(string option, string message)
    {
        var cluster = Cluster();
        Assert.Empty(ShardsClusterHosting.Validate(cluster, kubernetes: false));
        switch (option)
        {
            case "SiloPort": cluster.SiloPort = 0; break;
            case "GatewayPort": cluster.GatewayPort = 65536; break;
            case "SamePorts": cluster.GatewayPort = cluster.SiloPort; break;
            case "ReplicationFactor": cluster.ReplicationFactor = 0; break;
            case "ReplicationTimeout": cluster.ReplicationTimeout = TimeSpan.FromMinutes(6); break;
            case "ReplicaReplaceAfter": cluster.ReplicaReplaceAfter = TimeSpan.FromMilliseconds(500); break;
            case "Redis": cluster.Redis = "127.0.0.1:6379,connectTimeout=soon"; break;
            case "ClusterId": cluster.ClusterId = "has space"; break;
            case "ServiceId": cluster.ServiceId = new string('s', 129); break;
            case "SiloName": cluster.SiloName = "a/b"; break;
            case "AdvertisedAddress": cluster.AdvertisedAddress = "silo.example"; break;
        }

        var errors = ShardsClusterHosting.Validate(cluster, kubernetes: false);
        Assert.True(errors.Count == 1 && errors[0].Contains(message, StringComparison.Ordinal), string.Join(" | ", errors));
    }

    [Fact]
    public void Embedded_mode_checks_only_the_ranges_and_the_ports()
    {
        // Without Redis the names, address and connection string are unused: not checked.
        var embedded = new ShardClusterOptions { ClusterId = "has space", AdvertisedAddress = "silo.example" };
        Assert.Empty(ShardsClusterHosting.Validate(embedded, kubernetes: false));
        embedded.GatewayPort = embedded.SiloPort;
        Assert.Single(ShardsClusterHosting.Validate(embedded, kubernetes: false));
    }
}
