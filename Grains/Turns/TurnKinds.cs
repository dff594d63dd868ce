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

    public static bool IsShared(MethodInfo method) => Shared.GetOrAdd(
        method,
        static m => m.IsDefined(typeof(ReadOnlyAttribute), inherit: true) || m.IsDefined(typeof(AlwaysInterleaveAttribute), inherit: true));
}
