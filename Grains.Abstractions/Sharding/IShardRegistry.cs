using Orleans;
using Orleans.Concurrency;

namespace OrleansShards;

/// <summary>
/// The shard registry of one table, keyed <c>tenant:table</c> like the table's <see cref="ITableShard"/>.
/// It splits the table into shard tables (<c>{table}__s{index}</c>, each its own SQLite file), merges them
/// back, rebalances them and queries across them. Every operation is online: writes to the table keep
/// working; none acknowledged is lost or applied twice (copy, change-log tail replay, brief switch).
/// A crash mid-operation leaves the table usable: an operation that had not switched is rolled back,
/// one that had is rolled forward, when the table next activates. Operations on one table run one at a time.
/// </summary>
/// <remarks>Every failure is a <see cref="ShardException"/>; bad input is <c>INVALID_ARGUMENT</c>.</remarks>
[Alias("orleansshards.IShardRegistry")]
public interface IShardRegistry : IGrainWithStringKey
{
    /// <summary>
    /// Splits the table into <see cref="ShardRequest.Count"/> shards by <see cref="ShardRequest.Key"/>. Rows of
    /// tables in the same file whose foreign keys reference the table move with their parent row.
    /// Emits <c>shard.started</c> and <c>shard.completed</c> or <c>shard.failed</c>.
    /// </summary>
    /// <remarks>Errors: <c>INVALID_ARGUMENT</c> (missing key, count outside 1–1000, unknown strategy or router,
    /// empty or missing table, no primary key, already sharded, an operation in progress).</remarks>
    [AlwaysInterleave]
    [ResponseTimeout("01:00:00")]
    [Alias("ShardAsync")]
    Task<ShardResult> ShardAsync(ShardRequest request, CancellationToken cancellationToken = default);

    /// <summary>Merges every shard back into the table and removes the registry and the shard files. Nothing is lost.</summary>
    /// <remarks>Errors: <c>INVALID_ARGUMENT</c> when the table is not sharded or an operation is in progress.</remarks>
    [AlwaysInterleave]
    [ResponseTimeout("01:00:00")]
    [Alias("UnshardAsync")]
    Task<UnshardResult> UnshardAsync(CancellationToken cancellationToken = default);

    /// <summary>As <see cref="UnshardAsync(CancellationToken)"/>, recording the operation under <see cref="UnshardRequest.OperationId"/>.</summary>
    /// <remarks>Errors: as <see cref="UnshardAsync(CancellationToken)"/>; <c>INVALID_ARGUMENT</c> for a malformed or used operation id.</remarks>
    [AlwaysInterleave]
    [ResponseTimeout("01:00:00")]
    [Alias("UnshardWithRequestAsync")]
    Task<UnshardResult> UnshardAsync(UnshardRequest request, CancellationToken cancellationToken = default);

    /// <summary>True when the table is sharded now.</summary>
    [ReadOnly]
    [Alias("IsShardedAsync")]
    Task<bool> IsShardedAsync(CancellationToken cancellationToken = default);

    /// <summary>The registry and each shard's health, row count and response time. Answers for unsharded tables too.</summary>
    [ReadOnly]
    [Alias("DiscoverAsync")]
    Task<ShardDiscovery> DiscoverAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Runs one read-only statement on every shard in parallel and combines the answers by
    /// <see cref="ShardQueryRequest.Aggregation"/>; per-shard item counts, durations and errors are reported.
    /// </summary>
    /// <remarks>Errors: <c>INVALID_ARGUMENT</c> (not sharded, unknown aggregation), and with
    /// <see cref="ShardQueryRequest.ContinueOnError"/> false the first shard's error (<c>TIMEOUT</c>, <c>SQL_ERROR</c>, …).</remarks>
    [ReadOnly]
    [Alias("QueryShardsAsync")]
    Task<ShardQueryResult> QueryShardsAsync(ShardQueryRequest request, CancellationToken cancellationToken = default);

    /// <summary>
    /// Moves rows so the shards match the layout for <see cref="RebalanceRequest.TargetCount"/> (or even out
    /// skew); only rows whose shard changes are moved. Skipped when the skew is within <see cref="RebalanceRequest.MaxSkew"/>
    /// and the count does not change.
    /// </summary>
    /// <remarks>Errors: <c>INVALID_ARGUMENT</c> (not sharded, bad count, unknown strategy, an operation in progress).</remarks>
    [AlwaysInterleave]
    [ResponseTimeout("01:00:00")]
    [Alias("RebalanceAsync")]
    Task<RebalanceResult> RebalanceAsync(RebalanceRequest request, CancellationToken cancellationToken = default);
}
