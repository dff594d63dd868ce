using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using OrleansShards.Grains.Cluster;

namespace OrleansShards.Grains.Replication;

/// <summary>
/// Follower reads: a query that allows staleness — <c>bounded</c> with <c>maxStalenessMs</c>, or a
/// <c>minBookmark</c> read — arriving at a silo that holds one of the shard's replicas is answered there by the
/// replica when it is fresh enough (<c>meta.servedBy: "replica"</c>), saving the hop to the primary's silo. Otherwise
/// (no local replica, too stale, behind the bookmark, a sharded table) the primary answers as before. <c>strong</c>
/// and <c>cached</c> reads always go to the primary. The map's entries are cached here for
/// <see cref="EntryLifetime"/>.
/// </summary>
internal sealed class FollowerReads
{
    /// <summary>How long a map entry is reused before it is read from the map again.</summary>
    public static readonly TimeSpan EntryLifetime = TimeSpan.FromSeconds(1);

    private readonly IShardOwnership _ownership;
    private readonly ClusterView _cluster;
    private readonly IGrainFactory _grains;
    private readonly bool _enabled;
    private readonly ConcurrentDictionary<string, (ShardOwner? Owner, long At)> _owners = new(StringComparer.Ordinal);

    public FollowerReads(IShardOwnership ownership, ClusterView cluster, IGrainFactory grains, IOptions<ShardClusterOptions> options)
    {
        _ownership = ownership;
        _cluster = cluster;
        _grains = grains;
        _enabled = ownership.IsDistributed && options.Value.ReplicationFactor > 1;
    }

    /// <summary>True when <paramref name="request"/> may be served by a replica.</summary>
    public static bool Allows(QueryRequest request) =>
        request.ShardKey is null
        && ((request.Consistency == Consistency.Bounded && request.MaxStalenessMs is not null)
            || (request.Consistency is null && request.MinBookmark is not null));

    /// <summary>The answer of this silo's replica of <paramref name="shard"/>, or null when the primary must answer.</summary>
    public async Task<QueryResult?> TryReadAsync(string shard, QueryRequest request, CancellationToken cancellationToken = default)
    {
        if (!_enabled || !Allows(request))
        {
            return null;
        }

        ShardOwner? owner;
        try
        {
            owner = await OwnerAsync(shard, cancellationToken).ConfigureAwait(false);
        }
        catch (ShardException)
        {
            return null;
        }

        if (owner is null || _cluster.IsSelf(owner.Primary) || !owner.Replicas.Any(_cluster.IsSelf))
        {
            return null;
        }

        return await _grains.GetGrain<IShardReplica>(ShardReplicaGrain.KeyOf(_cluster.SelfName, shard)).ReadAsync(request).ConfigureAwait(false);
    }

    private async ValueTask<ShardOwner?> OwnerAsync(string shard, CancellationToken cancellationToken)
    {
        var now = Environment.TickCount64;
        if (_owners.TryGetValue(shard, out var cached) && now - cached.At < (long)EntryLifetime.TotalMilliseconds)
        {
            return cached.Owner;
        }

        var owner = await _ownership.GetAsync(shard, cancellationToken).ConfigureAwait(false);
        _owners[shard] = (owner, now);
        return owner;
    }
}
