using Orleans;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using OrleansShards.Grains.Cluster;
using OrleansShards.Grains.Diagnostics;
using OrleansShards.Grains.Pitr;
using OrleansShards.Grains.TableShards;

namespace OrleansShards.Grains.Hosting;

/// <summary>Registers the TableShard grain and what it needs.</summary>
public static class TableShardsServiceCollectionExtensions
{
    /// <summary>
    /// Adds <see cref="ITableShard"/> grains (one SQLite file per tenant table), their options (validated at
    /// start), metrics (<see cref="ShardMetrics.MeterName"/>) and capacity registry. The grain classes are found by Orleans in this assembly; the silo needs <c>AddShards</c> (streams, reminders).
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
        services.TryAddSingleton<Storage.ShardFileBudget>();
        services.TryAddSingleton<ShardMetrics>();
        services.TryAddSingleton<LocalShardReads>();
        if (!services.Any(d => d.ImplementationType == typeof(LocalReadCallFilter)))
        {
            services.AddSingleton<IOutgoingGrainCallFilter, LocalReadCallFilter>();
        }

        services.AddOptions<ShardMetricsOptions>();
        if (!services.Any(d => d.ImplementationType == typeof(OperationMetricsFilter)))
        {
            services.AddSingleton<IIncomingGrainCallFilter, OperationMetricsFilter>();
        }

        services.TryAddShardClock();
        services.AddShardOwnership();
        services.AddTableSharding();
        return services.AddShardCache();
    }
}
