using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Orleans.Runtime.Placement;

namespace OrleansShards.Grains.Cluster;

/// <summary>Registers the ownership map and the shard placement.</summary>
public static class ShardClusterServiceCollectionExtensions
{
    /// <summary>
    /// In cluster mode: resends calls refused by a shard that just moved (<see cref="ShardMovedException"/>). Only
    /// there: every outgoing grain call passes through it.
    /// </summary>
    public static IServiceCollection AddShardMovedRetry(this IServiceCollection services) =>
        services.AddSingleton<IOutgoingGrainCallFilter, ShardMovedRetryFilter>();

    /// <summary>
    /// Adds <see cref="ShardClusterOptions"/>, the ownership map (Redis in cluster mode, this silo alone otherwise),
    /// the <see cref="ShardPlacement"/> director and the <see cref="ClusterView"/>.
    /// </summary>
    public static IServiceCollection AddShardOwnership(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddOptions<ShardClusterOptions>();
        services.TryAddSingleton<IShardOwnership>(static sp =>
            sp.GetRequiredService<IOptions<ShardClusterOptions>>().Value.Enabled
                ? ActivatorUtilities.CreateInstance<RedisShardOwnership>(sp)
                : new LocalShardOwnership());
        services.TryAddSingleton<ClusterView>();
        services.TryAddSingleton<Replication.FollowerReads>();
        if (!services.Any(static d => d.IsKeyedService && Equals(d.ServiceKey, typeof(ShardPlacement))))
        {
            services.AddPlacementDirector<ShardPlacement, ShardPlacementDirector>();
            services.AddPlacementDirector<SiloNamePlacement, SiloNamePlacementDirector>();
            services.AddHostedService<ClusterStartup>();
            services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>, SiloNameGuard>();
            services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>, StaleCopySweep>();
            services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>, Replication.ReplicaRepair>();
        }

        return services;
    }
}
