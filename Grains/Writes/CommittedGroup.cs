namespace OrleansShards.Grains.Writes;

/// <summary>A committed transaction of the writer: its sequence, time, changeset (when captured) and DDL.</summary>
/// <param name="Sequence">The commit's sequence.</param>
/// <param name="AtUnixMs">When it committed.</param>
/// <param name="Changeset">Its changeset (null when not captured or for a restore).</param>
/// <param name="Ddl">Its schema SQL, for a DDL commit.</param>
/// <param name="RestoredTo">
/// Set for a point-in-time restore: the shard's whole content was replaced by the state of this sequence,
/// so every cached entry of the shard is stale.
/// </param>
internal sealed record CommittedGroup(long Sequence, long AtUnixMs, byte[]? Changeset, string? Ddl, long? RestoredTo = null)
{
    /// <summary>True for a restore: invalidate the whole table, not rows.</summary>
    public bool IsRestore => RestoredTo is not null;

    /// <summary>
    /// Set by a <see cref="ICommitObserver.Committed"/> handler that left work for <see cref="ICommitObserver.Acknowledged"/>;
    /// without it the writer skips that step (and the thread hop before it).
    /// </summary>
    public bool HasAcknowledgedWork { get; set; }

    /// <summary>The epoch of the primary that wrote the commit (its change-log row carries it).</summary>
    public long Epoch { get; init; }

    /// <summary>
    /// True for a transaction that changed no data but stored idempotency rows: no log entry (no new sequence), only the
    /// rows to replicate. Observers are not told about it.
    /// </summary>
    public bool KeysOnly { get; init; }

    /// <summary>The idempotency rows the commit stored (replicas store them too, so retries stay exactly-once after a failover).</summary>
    public IReadOnlyList<Replication.ReplicatedKey>? IdempotencyRows { get; init; }
}
