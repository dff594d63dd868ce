using Orleans;
using Orleans.Concurrency;

namespace OrleansShards;

/// <summary>
/// One table of one tenant, keyed <c>tenant:table</c> (see <see cref="ShardName"/>), stored in its
/// own SQLite file. Calls run one writing turn at a time; reads marked <see cref="ReadOnlyAttribute"/>
/// run concurrently on a reader pool. Every failure is a <see cref="ShardException"/> with a code.
/// </summary>
[Alias("orleansshards.ITableShard")]
public interface ITableShard : IGrainWithStringKey
{
    /// <summary>Runs one read-only statement. Writes are refused (<c>INVALID_ARGUMENT</c>).</summary>
    /// <remarks>Errors: <c>SQL_ERROR</c>, <c>TIMEOUT</c>, <c>PAYLOAD_TOO_LARGE</c>, <c>INVALID_ARGUMENT</c>.</remarks>
    [ReadOnly]
    [Alias("QueryAsync")]
    Task<QueryResult> QueryAsync(QueryRequest request, CancellationToken cancellationToken = default);

    /// <summary>
    /// Runs one write. It is acknowledged only after its commit is durable; concurrent writes may
    /// share one SQLite transaction (group commit), each in its own savepoint so a failing statement
    /// fails only itself. With <see cref="MutationRequest.TransactionId"/> it is validated and queued.
    /// With an idempotency key a repeat returns the first outcome.
    /// </summary>
    /// <remarks>Errors: <c>CONFLICT_UNIQUE</c>, <c>CONSTRAINT_VIOLATION</c>, <c>SQL_ERROR</c>, <c>TX_NOT_FOUND</c>,
    /// <c>CAPACITY_EXCEEDED</c>, <c>RETRYABLE</c> (busy after retries), <c>TIMEOUT</c>.</remarks>
    [AlwaysInterleave]
    [Alias("MutateAsync")]
    Task<MutationResult> MutateAsync(MutationRequest request, CancellationToken cancellationToken = default);

    /// <summary>Runs statements atomically in order: every one applies or none does.</summary>
    /// <remarks>Errors: as <see cref="MutateAsync"/>; the message names the failing statement's index.</remarks>
    [AlwaysInterleave]
    [Alias("BatchAsync")]
    Task<BatchResult> BatchAsync(BatchRequest request, CancellationToken cancellationToken = default);

    /// <summary>Applies schema statements atomically and logs them in the change log.</summary>
    [Alias("DdlAsync")]
    Task<DdlResult> DdlAsync(DdlRequest request, CancellationToken cancellationToken = default);

    /// <summary>BEGIN / COMMIT / ROLLBACK of an interactive transaction. Unknown or expired ids: <c>TX_NOT_FOUND</c>.</summary>
    [AlwaysInterleave]
    [Alias("TransactionAsync")]
    Task<TransactionResult> TransactionAsync(TransactionRequest request, CancellationToken cancellationToken = default);

    /// <summary>Rows by primary key or indexed column (the row endpoints).</summary>
    [ReadOnly]
    [Alias("LookupRowsAsync")]
    Task<QueryResult> LookupRowsAsync(RowLookupRequest request, CancellationToken cancellationToken = default);

    /// <summary>
    /// Loads entries into the cache ahead of reads: rows by primary key, rows by indexed-column
    /// value, and (with <see cref="WarmRequest.HotKeys"/>) the keys this shard has recently served
    /// most. Each entry is read from the shard (a strong read) and written stamped with the commit
    /// sequence it reflects, so a warm never overwrites a newer invalidation. Best effort: entries
    /// that cannot be read or written are counted in <see cref="WarmResult.Skipped"/>; the call
    /// itself fails only for a malformed request.
    /// </summary>
    /// <remarks>Errors: <c>INVALID_ARGUMENT</c> (a lookup column that is not indexed), <c>NOT_FOUND</c> (the table does not exist).</remarks>
    [ReadOnly]
    [Alias("WarmAsync")]
    Task<WarmResult> WarmAsync(WarmRequest request, CancellationToken cancellationToken = default);

    /// <summary>Size, counters, plan-cache and cache figures.</summary>
    [ReadOnly]
    [Alias("GetStatsAsync")]
    Task<ShardStats> GetStatsAsync(CancellationToken cancellationToken = default);

    /// <summary>Measures the shard's size now (as the periodic check does) and stores it in <c>_meta</c>.</summary>
    [Alias("RefreshCapacityAsync")]
    Task<ShardStats> RefreshCapacityAsync(CancellationToken cancellationToken = default);

    /// <summary>The current bookmark, or that of the newest commit at or before <see cref="BookmarkRequest.At"/>.</summary>
    /// <remarks>Errors: <c>NOT_FOUND</c> when the time is before the retention window.</remarks>
    [Alias("GetBookmarkAsync")]
    Task<BookmarkResult> GetBookmarkAsync(BookmarkRequest request, CancellationToken cancellationToken = default);

    /// <summary>
    /// Restores exactly the state of a bookmark and swaps it in atomically; aborts open transactions
    /// and invalidates the shard's cached entries. Returns an undo bookmark.
    /// </summary>
    /// <remarks>Errors: <c>INVALID_ARGUMENT</c> (malformed, other shard), <c>NOT_FOUND</c> (outside retention).</remarks>
    [Alias("RestoreAsync")]
    Task<RestoreResult> RestoreAsync(RestoreRequest request, CancellationToken cancellationToken = default);

    /// <summary>The silo holding the shard's primary copy, its replicas and the primary's epoch.</summary>
    /// <remarks>Errors: <c>UNAVAILABLE</c> when the primary's silo is not reachable.</remarks>
    [ReadOnly]
    [Alias("GetPlacementAsync")]
    Task<ShardPlacementInfo> GetPlacementAsync(CancellationToken cancellationToken = default);
}
