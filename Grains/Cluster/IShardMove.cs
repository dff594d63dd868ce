namespace OrleansShards.Grains.Cluster;

/// <summary>Moves a shard's primary copy to another silo (the TableShard grain implements it; same activation).</summary>
[Alias("orleansshards.IShardMove")]
internal interface IShardMove : IGrainWithStringKey
{
    /// <summary>
    /// Makes <paramref name="targetSilo"/>'s copy a caught-up replica while reads and writes go on, then, holding the
    /// writer only for the last entries and the compare-and-set, hands the shard over in the ownership map (epoch + 1)
    /// and retires this copy; calls that arrive during the switch are resent to the new primary. Interleaves with
    /// the shard's reads and writes (a shared turn); a second move at once is refused.
    /// </summary>
    [Alias("MoveToAsync")]
    [Orleans.Concurrency.AlwaysInterleave]
    Task<MoveResult> MoveToAsync(string targetSilo, CancellationToken cancellationToken = default);

    /// <summary>
    /// On the primary: puts a new replica, seeded and caught up while writes go on, in place of the one on
    /// <paramref name="silo"/> (draining, or gone for longer than <c>ReplicaReplaceAfter</c>), and drops the old copy.
    /// Returns the new replica's silo, or null when <paramref name="silo"/> holds no replica of this shard.
    /// </summary>
    [Alias("ReplaceReplicaAsync")]
    [Orleans.Concurrency.AlwaysInterleave]
    Task<string?> ReplaceReplicaAsync(string silo, CancellationToken cancellationToken = default);
}

/// <summary>One shard moved.</summary>
/// <param name="Shard">The shard key.</param>
/// <param name="From">The silo it left.</param>
/// <param name="To">The silo that holds it now.</param>
/// <param name="Epoch">The epoch of the hand-over.</param>
/// <param name="Bytes">Bytes of the whole copy sent (the log entries shipped after it are not counted).</param>
/// <param name="StallMs">How long writes waited (the final switch).</param>
[GenerateSerializer, Immutable, Alias("orleansshards.MoveResult")]
internal sealed record MoveResult([Id(0)] string Shard, [Id(1)] string From, [Id(2)] string To, [Id(3)] long Epoch, [Id(4)] long Bytes, [Id(5)] double StallMs);
