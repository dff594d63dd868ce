using Orleans.Concurrency;

namespace OrleansShards.Grains.Sharding;

/// <summary>
/// What sharding asks of a table shard grain (the base table <c>tenant:table</c> and each shard <c>tenant:table__sN</c>):
/// reads of rows and of the change log, idempotent writes of moved rows outside the tenant write path, and — on the
/// base table only — the operation journal and the switch. Internal: SQL passed here is built by sharding from
/// validated names, never taken from a request. The same activation serves <see cref="ITableShard"/>.
/// </summary>
internal interface IShardHost : IGrainWithStringKey
{
    /// <summary>The layout and the operation journal of this (base) table.</summary>
    [ReadOnly]
    Task<ShardingState> GetShardingStateAsync(CancellationToken cancellationToken = default);

    /// <summary>Columns, keys, child tables and schema of <paramref name="table"/> in this file.</summary>
    /// <remarks>Errors: <c>NOT_FOUND</c> (no such table), <c>INVALID_ARGUMENT</c> (no primary key, unknown key column).</remarks>
    [ReadOnly]
    Task<TableShape> DescribeAsync(string table, string key, string? keyPath, CancellationToken cancellationToken = default);

    /// <summary>Rows of <paramref name="table"/> in this file (0 when it does not exist).</summary>
    [ReadOnly]
    Task<long> CountRowsAsync(string table, CancellationToken cancellationToken = default);

    /// <summary>The sequence of the newest commit.</summary>
    [ReadOnly]
    Task<long> GetSequenceAsync(CancellationToken cancellationToken = default);

    /// <summary>Runs an engine read (internal tables visible).</summary>
    [ReadOnly]
    Task<IReadOnlyList<SqlValue[]>> ReadInternalAsync(string sql, IReadOnlyList<SqlValue> parameters, CancellationToken cancellationToken = default);

    /// <summary>
    /// A chunk of tenant rows read by <paramref name="sql"/> (ordered by key, from <paramref name="parameters"/>' cursor) as
    /// the engine: values under the tenant's value cap (a generated column may compute a larger one), at most about
    /// <see cref="ShardHostLimits.ChunkBytes"/> of rows (at least one); empty once no row is left.
    /// </summary>
    [ReadOnly]
    Task<IReadOnlyList<SqlValue[]>> ReadChunkAsync(string sql, IReadOnlyList<SqlValue> parameters, CancellationToken cancellationToken = default);

    /// <summary>For each key, the row read by <paramref name="sql"/> (one <c>?</c> per key column), or null when gone.</summary>
    [ReadOnly]
    Task<IReadOnlyList<SqlValue[]?>> ReadRowsAsync(string sql, IReadOnlyList<SqlValue[]> keys, CancellationToken cancellationToken = default);

    /// <summary>The primary keys changed by commits after <paramref name="afterSequence"/>, by table (from the changesets in <c>_changes</c>).</summary>
    [ReadOnly]
    Task<TailChunk> ReadTailAsync(long afterSequence, int maxCommits, CancellationToken cancellationToken = default);

    /// <summary>Applies deletes then upserts in one transaction, foreign keys off, outside the change log.</summary>
    Task ApplyAsync(ApplyBatch batch, CancellationToken cancellationToken = default);

    /// <summary>Deletes this shard's files and starts it empty with <paramref name="schema"/> (a fresh target).</summary>
    Task ResetAsync(IReadOnlyList<string> schema, CancellationToken cancellationToken = default);

    /// <summary>
    /// Runs a tenant's DDL and rolls it back: answers (throws) as the DDL would, changes nothing. A DDL of a sharded table
    /// is checked on every file before it is applied to any.
    /// </summary>
    Task CheckDdlAsync(DdlRequest request, CancellationToken cancellationToken = default);

    /// <summary>Runs schema statements as the engine (no change log).</summary>
    Task ExecuteSchemaAsync(IReadOnlyList<string> schema, CancellationToken cancellationToken = default);

    /// <summary>
    /// A partition's write sent by the routing grain for its <c>shardKey</c>: <see cref="ITableShard.MutateAsync"/>, with
    /// every row it touches held to <paramref name="keyCheck"/> (<c>INVALID_ARGUMENT</c> otherwise; see <see cref="Storage.ShardKeyGuard"/>).
    /// </summary>
    [AlwaysInterleave]
    Task<MutationResult> MutateRoutedAsync(MutationRequest request, Storage.ShardKeyCheck keyCheck, CancellationToken cancellationToken = default);

    /// <summary>A partition's batch sent by the routing grain for its <c>shardKey</c> (see <see cref="MutateRoutedAsync"/>).</summary>
    [AlwaysInterleave]
    Task<BatchResult> BatchRoutedAsync(BatchRequest request, Storage.ShardKeyCheck keyCheck, CancellationToken cancellationToken = default);

    /// <summary>Switch step of a live shard: deletes the rows listed in <c>_mvdel_*</c>, merges <c>_mv_*</c>, drops both. Idempotent.</summary>
    Task FinishMoveAsync(IReadOnlyList<string> tables, CancellationToken cancellationToken = default);

    /// <summary>Rollback step: drops <c>_mv_*</c> and <c>_mvdel_*</c> of <paramref name="tables"/>. Idempotent.</summary>
    Task DropStagingAsync(IReadOnlyList<string> tables, CancellationToken cancellationToken = default);

    /// <summary>Deletes every row of <paramref name="tables"/> (the base table after sharding, or on unshard rollback).</summary>
    Task TruncateAsync(IReadOnlyList<string> tables, CancellationToken cancellationToken = default);

    /// <summary>Closes and deletes this shard's files; the activation goes away.</summary>
    Task DestroyAsync(CancellationToken cancellationToken = default);

    /// <summary>Base table: persists the journal of a new operation and records <c>shard.started</c>.</summary>
    /// <remarks>Errors: <c>INVALID_ARGUMENT</c> when another operation is in progress or the layout changed.</remarks>
    Task BeginOperationAsync(ShardOperation operation, CancellationToken cancellationToken = default);

    /// <summary>
    /// Base table: the switch, as one exclusive turn (no write of the table runs meanwhile): final catch-up of the
    /// change-log tail, prepare, flip the layout with the journal, per-shard commit steps, cleanup. The migration is
    /// found by id in this silo's <see cref="ShardMigrations"/>; its cleanup task is left on it.
    /// </summary>
    Task<SwitchOutcome> SwitchAsync(string operationId, CancellationToken cancellationToken = default);

    /// <summary>Base table: rolls the operation back (targets dropped, layout unchanged) and records <c>shard.failed</c>.</summary>
    Task AbortOperationAsync(string operationId, string reason, CancellationToken cancellationToken = default);
}

/// <summary>Bounds of the engine's reads of tenant rows for sharding.</summary>
internal static class ShardHostLimits
{
    /// <summary>Bytes of rows one chunk of a copy holds at most (about: the row that passes it is kept).</summary>
    public const long ChunkBytes = 16 * 1024 * 1024;
}
