using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Reflection;
using Orleans;

namespace OrleansShards.Grains.Diagnostics;

/// <summary>
/// Times the long operations where they run — <see cref="ITableShard.RestoreAsync"/> and
/// <see cref="IShardRegistry.ShardAsync"/>, <see cref="IShardRegistry.UnshardAsync"/>,
/// <see cref="IShardRegistry.RebalanceAsync"/> — into <see cref="ShardMetrics.OperationDuration"/>, tagged with
/// <c>operation</c>, <c>outcome</c> and <c>tenant</c>. Every other grain call passes through with one dictionary look-up.
/// </summary>
internal sealed class OperationMetricsFilter(ShardMetrics metrics) : IIncomingGrainCallFilter
{
    private static readonly Dictionary<MethodInfo, string> Operations = new()
    {
        [typeof(ITableShard).GetMethod(nameof(ITableShard.RestoreAsync))!] = "restore",
        [typeof(IShardRegistry).GetMethod(nameof(IShardRegistry.ShardAsync))!] = "shard",
        [typeof(IShardRegistry).GetMethod(nameof(IShardRegistry.UnshardAsync))!] = "unshard",
        [typeof(IShardRegistry).GetMethod(nameof(IShardRegistry.RebalanceAsync))!] = "rebalance",
    };

    public async Task Invoke(IIncomingGrainCallContext context)
    {
        if (context.InterfaceMethod is not { } method || !Operations.TryGetValue(method, out var operation))
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
