using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using OrleansShards.Grains.Sharding;
using OrleansShards.Grains.TableShards;

namespace OrleansShards.Grains.Hosting;

/// <summary>Registers table sharding (<see cref="IShardRegistry"/>) and custom shard routers.</summary>
public static class ShardingServiceCollectionExtensions
{
    /// <summary>
    /// Registers <paramref name="router"/> under <paramref name="name"/> for strategy <c>custom</c>
    /// (<c>ShardRequest.Router = name</c>). Register it on every silo that serves the table.
    /// </summary>
    public static IServiceCollection AddShardRouter(this IServiceCollection services, string name, IShardRouter router)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(router);
        services.AddSingleton(new ShardRouterRegistration(name, router));
        return services;
    }

    /// <summary>Adds the shard registry grain and the sharding host interface of table shards (called by <c>AddTableShards</c>).</summary>
    internal static IServiceCollection AddTableSharding(this IServiceCollection services)
    {
        services.TryAddSingleton<ShardRouterRegistry>();
        services.TryAddSingleton<ShardingHostId>();
        services.TryAddSingleton<ShardingFaults>();
        services.TryAddSingleton<ShardMigrations>();
        services.AddOptions<Operations.OperationOptions>();
        services.TryAddSingleton<Operations.OperationTracker>();
        return services;
    }
}
