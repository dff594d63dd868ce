using Orleans.Concurrency;

namespace OrleansShards.Grains.Sharding;

/// <summary>
/// The journal of one sharding operation, persisted in the base table file's <c>_meta</c> (key <c>shard:op</c>) before
/// anything is copied. <see cref="State"/> is <c>copying</c> until the switch flips the layout (in the same transaction
/// as <c>switched</c>). On activation the base table rolls a <c>copying</c> operation of a dead process back (targets
/// dropped, old layout kept) and a <c>switched</c> one forward (per-file commit steps are idempotent).
/// </summary>
[GenerateSerializer, Immutable, Alias("orleansshards.sharding.ShardOperation")]
internal sealed record ShardOperation(
    [Id(0)] string Id,
    [Id(1)] string Kind,
    [Id(2)] string State,
    [Id(3)] string Owner,
    [Id(4)] List<string> Tables,
    [Id(5)] List<string> Sources,
    [Id(6)] List<MigrationTarget> Targets,
    [Id(7)] ShardLayout? NewLayout,
    [Id(8)] List<string> Remove,
    [Id(9)] bool EmptyBase,
    [Id(10)] long StartedAtMs)
{
    public const string Copying = "copying";
    public const string Switched = "switched";
    public const string KindShard = "shard";
    public const string KindUnshard = "unshard";
    public const string KindRebalance = "rebalance";
}

/// <summary>Where an operation writes rows.</summary>
/// <param name="Name">The target's table name (its grain key is <c>tenant:name</c>).</param>
/// <param name="Index">Its shard index in the new layout (0 for the base table).</param>
/// <param name="Mode"><see cref="TargetMode"/>.</param>
[GenerateSerializer, Immutable, Alias("orleansshards.sharding.MigrationTarget")]
internal sealed record MigrationTarget([Id(0)] string Name, [Id(1)] int Index, [Id(2)] TargetMode Mode);

/// <summary>How rows reach a target before the switch.</summary>
[GenerateSerializer, Alias("orleansshards.sharding.TargetMode")]
internal enum TargetMode
{
    /// <summary>A new shard nobody reads yet: rows go straight into its tables; rollback deletes its file.</summary>
    Fresh,

    /// <summary>The base table while sharded (unshard): its tables are not read; rollback empties them.</summary>
    Base,

    /// <summary>A shard serving reads (rebalance): rows are staged in <c>_mv_{table}</c> and merged at the switch; rollback drops the stage.</summary>
    Live,
}
