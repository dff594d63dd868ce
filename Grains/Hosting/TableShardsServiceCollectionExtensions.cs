using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using OrleansShards.Grains.Diagnostics;
using OrleansShards.Grains.Pitr;
using OrleansShards.Grains.TableShards;
using OrleansShards.Runtime;

namespace OrleansShards.Grains.Hosting;

/// <summary>Registers the TableShard grain and what it needs.</summary>
public static class TableShardsServiceCollectionExtensions
{
    /// <summary>
    /// Adds <see cref="ITableShard"/> grains (one SQLite file per tenant table), their options (validated at
    /// start), metrics (<see cref="ShardMetrics.MeterName"/>) and capacity registry. Needs <c>AddGrainRuntime</c>.
    /// </summary>
    public static IServiceCollection AddTableShards(this IServiceCollection services, Action<TableShardOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = services.AddOptions<TableShardOptions>().ValidateOnStart();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<TableShardOptions>, TableShardOptionsValidator>());
        PitrServiceCollectionExtensions.AddPitrOptions(services);
        services.AddMetrics();
        services.TryAddSingleton<ShardCapacityRegistry>();
        services.TryAddSingleton<ShardMetrics>();
        services.AddGrain<ITableShard, TableShardGrain>();
        services.AddTableSharding();
        return services.AddShardCache();
    }
}
