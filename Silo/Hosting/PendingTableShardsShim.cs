using Microsoft.Extensions.DependencyInjection.Extensions;
using OrleansShards.Grains.Diagnostics;
using OrleansShards.Grains.Hosting;

namespace OrleansShards.Silo.Hosting;

// TEMPORARY: stands in for Grains' AddTableShards until the TableShard engine lands on main; deleted at that merge.
internal static class PendingTableShardsShim
{
    public static IServiceCollection AddTableShards(this IServiceCollection services, Action<TableShardOptions>? configure = null)
    {
        var options = services.AddOptions<TableShardOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        services.AddMetrics();
        services.TryAddSingleton<ShardCapacityRegistry>();
        services.TryAddSingleton<ShardMetrics>();
        return services;
    }
}
