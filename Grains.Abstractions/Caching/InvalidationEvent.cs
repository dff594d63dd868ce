using Orleans;

namespace OrleansShards;

/// <summary>
/// The cache keys one commit of one shard made stale. Written to the shard's outbox in the same
/// SQLite transaction as the commit, published to the invalidation stream after COMMIT, and applied
/// by the shard's <see cref="ICacheInvalidator"/>.
/// </summary>
/// <param name="Shard">The shard key, <c>tenant:table</c>.</param>
/// <param name="Sequence">The commit's sequence; events of one shard are applied in increasing order.</param>
/// <param name="CommittedAtUnixMs">When the commit happened (for the commit→delete latency).</param>
/// <param name="Keys">Row keys (<c>{tenant}:t:{table}:id:{pk}</c>) and index keys (<c>{tenant}:idx:{table}:{col}:{val}</c>) to delete.</param>
/// <param name="Flush">True when every cached entry of the table must go (schema change, restore).</param>
[GenerateSerializer, Immutable, Alias("orleansshards.InvalidationEvent")]
public sealed record InvalidationEvent(
    [Id(0)] string Shard,
    [Id(1)] long Sequence,
    [Id(2)] long CommittedAtUnixMs,
    [Id(3)] IReadOnlyList<string> Keys,
    [Id(4)] bool Flush = false);
