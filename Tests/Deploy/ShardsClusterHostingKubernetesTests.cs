using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Hosting.Kubernetes;
using OrleansShards.Grains.Cluster;
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
}
