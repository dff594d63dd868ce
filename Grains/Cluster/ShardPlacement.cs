using Microsoft.Extensions.Logging;
using Orleans.Placement;
using Orleans.Runtime;
using Orleans.Runtime.Placement;

namespace OrleansShards.Grains.Cluster;

/// <summary>
/// Places a TableShard on the silo holding its primary copy (from the ownership map); a shard no silo owns yet goes
/// to the active silo with the fewest primaries. Orleans asks only when no activation exists: calls carrying a
/// cached address skip this, which is why an activation also checks that it stands on its primary's silo.
/// </summary>
[Serializable, GenerateSerializer, Immutable, SuppressReferenceTracking, Alias("orleansshards.ShardPlacement")]
public sealed class ShardPlacement : PlacementStrategy
{
    internal static ShardPlacement Singleton { get; } = new();
}

/// <summary>Marks a grain class as placed by <see cref="ShardPlacement"/>.</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false)]
public sealed class ShardPlacementAttribute : PlacementAttribute
{
    /// <summary>Creates the attribute.</summary>
    public ShardPlacementAttribute()
        : base(ShardPlacement.Singleton)
    {
    }
}

/// <summary>The director of <see cref="ShardPlacement"/>.</summary>
internal sealed partial class ShardPlacementDirector(
    IShardOwnership ownership,
    ClusterView cluster,
    ILogger<ShardPlacementDirector> logger) : IPlacementDirector
{
    public async Task<SiloAddress> OnAddActivation(PlacementStrategy strategy, PlacementTarget target, IPlacementContext context)
    {
        var compatible = context.GetCompatibleSilos(target);
        if (IPlacementDirector.GetPlacementHint(target.RequestContextData, compatible) is { } hint)
        {
            return hint;
        }

        if (!ownership.IsDistributed)
        {
            return compatible.Contains(context.LocalSilo) ? context.LocalSilo : compatible[Random.Shared.Next(compatible.Length)];
        }

        var shard = target.GrainIdentity.Key.ToString()!;
        try
        {
            var asked = System.Diagnostics.Stopwatch.GetTimestamp();
            if (await ownership.GetAsync(shard) is { } owner)
            {
                // Its primary's silo when that one is up; else a live replica's, where the activation promotes itself;
                // else here, where the activation answers UNAVAILABLE.
                if (cluster.ActiveSilo(owner.Primary) is { } primary && compatible.Contains(primary))
                {
                    LogPlaced(shard, owner.Primary, System.Diagnostics.Stopwatch.GetElapsedTime(asked).TotalMilliseconds);
                    return primary;
                }

                var replica = owner.Replicas.Select(cluster.ActiveSilo).FirstOrDefault(r => r is not null && compatible.Contains(r));
                return replica ?? context.LocalSilo;
            }

            // A new shard: the active silo with the fewest primaries (ties broken at random, so that a burst of new
            // shards spreads before the counts move).
            var counts = await ownership.PrimaryCountsAsync();
            var draining = await ownership.DrainingAsync();
            var candidates = cluster.ActiveMembers().Where(m => compatible.Contains(m.SiloAddress) && !draining.Contains(m.Name)).ToList();
            if (candidates.Count == 0)
            {
                return context.LocalSilo;
            }

            var least = candidates.Min(m => counts.GetValueOrDefault(m.Name));
            var lightest = candidates.Where(m => counts.GetValueOrDefault(m.Name) == least).ToList();
            return lightest[Random.Shared.Next(lightest.Count)].SiloAddress;
        }
        catch (ShardException ex)
        {
            // Redis unreachable: placed here, the activation tells the caller UNAVAILABLE.
            LogMapUnreachable(shard, ex.Message);
            return context.LocalSilo;
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Placing shard {Shard} on its primary's silo {Primary} (the map answered in {MapMs:0.0} ms)")]
    private partial void LogPlaced(string shard, string primary, double mapMs);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Placing shard {Shard} locally: {Reason}")]
    private partial void LogMapUnreachable(string shard, string reason);
}

/// <summary>The cluster as this silo sees it: active silos by their stable names.</summary>
public sealed class ClusterView(IClusterMembershipService membership, ILocalSiloDetails local)
{
    /// <summary>This silo's name.</summary>
    public string SelfName => local.Name;

    /// <summary>This silo's address.</summary>
    public SiloAddress SelfAddress => local.SiloAddress;

    /// <summary>Every member in the current snapshot, dead ones included.</summary>
    public IEnumerable<ClusterMember> Members() => membership.CurrentSnapshot.Members.Values;

    /// <summary>The active members.</summary>
    public IEnumerable<ClusterMember> ActiveMembers() => Members().Where(m => m.Status == SiloStatus.Active);

    /// <summary>The address of the active silo named <paramref name="name"/>, or null.</summary>
    public SiloAddress? ActiveSilo(string name) =>
        ActiveMembers().FirstOrDefault(m => string.Equals(m.Name, name, StringComparison.Ordinal))?.SiloAddress;

    /// <summary>True when the active silo named <paramref name="name"/> is this one.</summary>
    public bool IsSelf(string name) => string.Equals(name, local.Name, StringComparison.Ordinal);
}
