using System.Collections.Concurrent;
using System.Reflection;
using Orleans.Concurrency;

namespace OrleansShards.Grains.Turns;

/// <summary>
/// Which turn a grain method takes: shared when its interface method is <see cref="ReadOnlyAttribute"/>
/// or <see cref="AlwaysInterleaveAttribute"/>, exclusive otherwise. Read once per method.
/// </summary>
internal static class TurnKinds
{
    private static readonly ConcurrentDictionary<MethodInfo, bool> Shared = new();

    /// <summary>
    /// True for calls of the shard's own interfaces (<see cref="ITableShard"/>, the sharding host, reminder ticks),
    /// which take a turn in the call filter; false for anything else Orleans invokes on the grain, such as a grain
    /// timer's tick, whose callback takes its turn itself.
    /// </summary>
    public static bool IsGated(MethodInfo? method) =>
        method?.DeclaringType is { } type
        && (type == typeof(ITableShard) || type == typeof(Sharding.IShardHost) || type == typeof(Cluster.IShardMove) || type == typeof(Orleans.IRemindable));

    public static bool IsShared(MethodInfo method) => Shared.GetOrAdd(
        method,
        static m => m.IsDefined(typeof(ReadOnlyAttribute), inherit: true) || m.IsDefined(typeof(AlwaysInterleaveAttribute), inherit: true));
}
