using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Reflection;
using Orleans;

namespace OrleansShards.Grains.Diagnostics;

/// <summary>
/// Times the long operations where they run — <see cref="ITableShard.RestoreAsync"/> and
/// <see cref="IShardRegistry.ShardAsync"/>, <see cref="IShardRegistry.UnshardAsync"/>,
/// <see cref="IShardRegistry.RebalanceAsync"/> — into <see cref="ShardMetrics.OperationDuration"/>, tagged with
/// <c>operation</c>, <c>outcome</c> and <c>tenant</c>. Every other grain call passes through after a type and name comparison.
/// </summary>
internal sealed class OperationMetricsFilter(ShardMetrics metrics) : IIncomingGrainCallFilter
{
    /// <summary>The operation a grain method runs (every overload counts), or null.</summary>
    private static string? OperationOf(MethodInfo method) => (method.DeclaringType, method.Name) switch
    {
        (var t, nameof(ITableShard.RestoreAsync)) when t == typeof(ITableShard) => "restore",
        (var t, nameof(IShardRegistry.ShardAsync)) when t == typeof(IShardRegistry) => "shard",
        (var t, nameof(IShardRegistry.UnshardAsync)) when t == typeof(IShardRegistry) => "unshard",
        (var t, nameof(IShardRegistry.RebalanceAsync)) when t == typeof(IShardRegistry) => "rebalance",
        _ => null,
    };

    public async Task Invoke(IIncomingGrainCallContext context)
    {
        if (context.InterfaceMethod is not { } method || OperationOf(method) is not { } operation)
        {
            await context.Invoke();
            return;
        }

        var started = Stopwatch.GetTimestamp();
        var outcome = "failed";
        try
        {
            await context.Invoke();
            outcome = "ok";
        }
        finally
        {
            var tenant = context.TargetId.Key.ToString() is { } key ? ShardMetrics.TenantOf(key) : "";
            metrics.OperationDuration.Record(
                Stopwatch.GetElapsedTime(started).TotalSeconds,
                new TagList { { "operation", operation }, { "outcome", outcome }, { ShardMetrics.TenantTag, tenant } });
        }
    }
}
