namespace OrleansShards.Grains.Cluster;

/// <summary>Moves a shard's primary copy to another silo (the TableShard grain implements it; same activation).</summary>
[Alias("orleansshards.IShardMove")]
internal interface IShardMove : IGrainWithStringKey
{
    /// <summary>
    /// Copies the shard's file and snapshots to <paramref name="targetSilo"/>, hands the shard over in the ownership map
    /// (epoch + 1) and retires this copy. Writes wait meanwhile (an exclusive turn); calls that arrive during the
    /// switch are resent to the new primary.
    /// </summary>
    [Alias("MoveToAsync")]
    Task<MoveResult> MoveToAsync(string targetSilo, CancellationToken cancellationToken = default);
}

/// <summary>One shard moved.</summary>
/// <param name="Shard">The shard key.</param>
/// <param name="From">The silo it left.</param>
/// <param name="To">The silo that holds it now.</param>
/// <param name="Epoch">The epoch of the hand-over.</param>
/// <param name="Bytes">Bytes copied.</param>
/// <param name="StallMs">How long writes waited (the whole exclusive turn).</param>
[GenerateSerializer, Immutable, Alias("orleansshards.MoveResult")]
internal sealed record MoveResult([Id(0)] string Shard, [Id(1)] string From, [Id(2)] string To, [Id(3)] long Epoch, [Id(4)] long Bytes, [Id(5)] double StallMs);
