namespace OrleansShards.Grains.Cluster;

/// <summary>
/// The ownership map: which silo holds the primary copy of each shard, and its epoch. In cluster mode it lives in
/// Redis and changes only by compare-and-set; embedded, this silo owns everything.
/// </summary>
internal interface IShardOwnership
{
    /// <summary>True in cluster mode (the map is shared by several silos).</summary>
    bool IsDistributed { get; }

    /// <summary>The shard's entry, or null when no silo owns it yet.</summary>
    Task<ShardOwner?> GetAsync(string shard, CancellationToken cancellationToken = default);

    /// <summary>
    /// Makes <paramref name="silo"/> the shard's primary when the map names it already or names no one, raising the
    /// epoch above both the map's and <paramref name="minEpoch"/> (the epoch found in the local file). Returns the
    /// entry as it stands afterwards: a primary other than <paramref name="silo"/> means another silo owns the
    /// shard and nothing changed.
    /// </summary>
    Task<ShardOwner> ClaimAsync(string shard, string silo, long minEpoch, CancellationToken cancellationToken = default);

    /// <summary>
    /// Hands the shard from <paramref name="from"/> to <paramref name="to"/> if the map still says
    /// <paramref name="from"/> at <paramref name="epoch"/>; the epoch rises. Null when the entry had changed.
    /// </summary>
    Task<ShardOwner?> TransferAsync(string shard, string from, string to, long epoch, CancellationToken cancellationToken = default);

    /// <summary>
    /// Sets the shard's replicas to <paramref name="replicas"/> if the map still names <paramref name="primary"/> at
    /// <paramref name="epoch"/>. Null when the entry had changed.
    /// </summary>
    Task<ShardOwner?> SetReplicasAsync(string shard, string primary, long epoch, IReadOnlyList<string> replicas, CancellationToken cancellationToken = default);

    /// <summary>
    /// Fails the shard over from the dead primary <paramref name="from"/> to its replica <paramref name="to"/> if the
    /// map still names <paramref name="from"/> at <paramref name="epoch"/>: the epoch rises by one (the epoch every live
    /// copy was fenced at) and the replicas become <paramref name="replicas"/>. Null when the entry had changed.
    /// </summary>
    Task<ShardOwner?> FailoverAsync(string shard, string from, long epoch, string to, IReadOnlyList<string> replicas, CancellationToken cancellationToken = default);

    /// <summary>
    /// Removes the shard's entry if the map still names <paramref name="silo"/> at <paramref name="epoch"/> (its files were
    /// deleted), leaving a tombstone (<see cref="DroppedAsync"/>); a later claim of the shard continues above that epoch.
    /// </summary>
    Task ReleaseAsync(string shard, string silo, long epoch, CancellationToken cancellationToken = default);

    /// <summary>
    /// Shards whose entry was released (files deleted) and not created again, with the epoch they had: copies of them
    /// left on silos that did not hear of the drop are stale.
    /// </summary>
    Task<IReadOnlyDictionary<string, long>> DroppedAsync(CancellationToken cancellationToken = default);

    /// <summary>Number of primaries per silo name.</summary>
    Task<IReadOnlyDictionary<string, long>> PrimaryCountsAsync(CancellationToken cancellationToken = default);

    /// <summary>Marks <paramref name="silo"/> as draining (no new shards go there) or not.</summary>
    Task SetDrainingAsync(string silo, bool draining, CancellationToken cancellationToken = default);

    /// <summary>The silos marked draining.</summary>
    Task<IReadOnlyCollection<string>> DrainingAsync(CancellationToken cancellationToken = default);

    /// <summary>Every entry of <paramref name="tenant"/>'s shards (keys <c>{tenant}:…</c>).</summary>
    Task<IReadOnlyList<(string Shard, ShardOwner Owner)>> ListTenantAsync(string tenant, CancellationToken cancellationToken = default);

    /// <summary>Every entry whose primary is <paramref name="silo"/>.</summary>
    Task<IReadOnlyList<(string Shard, ShardOwner Owner)>> ListAsync(string? silo = null, CancellationToken cancellationToken = default);
}
