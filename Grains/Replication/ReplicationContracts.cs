namespace OrleansShards.Grains.Replication;

/// <summary>One change-log row as shipped to a replica: what the primary committed under <paramref name="Seq"/>.</summary>
/// <param name="Seq">The commit's sequence.</param>
/// <param name="AtMs">When it committed.</param>
/// <param name="Kind">0 data, 1 DDL, 2 restore (a replica cannot apply a restore: it is re-seeded).</param>
/// <param name="Changeset">The commit's changeset.</param>
/// <param name="Ddl">The DDL's SQL.</param>
/// <param name="Epoch">The epoch of the primary that wrote it.</param>
[GenerateSerializer, Immutable, Alias("orleansshards.ReplicatedEntry")]
internal sealed record ReplicatedEntry(
    [Id(0)] long Seq,
    [Id(1)] long AtMs,
    [Id(2)] int Kind,
    [Id(3)] byte[]? Changeset,
    [Id(4)] string? Ddl,
    [Id(5)] long Epoch);

/// <summary>An idempotency row stored with a commit (key, time, stored outcome JSON).</summary>
[GenerateSerializer, Immutable, Alias("orleansshards.ReplicatedKey")]
internal sealed record ReplicatedKey([Id(0)] string Key, [Id(1)] long AtMs, [Id(2)] string Outcome);

/// <summary>
/// A batch for a replica: the entries in order, the idempotency rows and the engine's <c>_meta</c> rows they left, and
/// when the primary built it (Unix ms, its clock; 0: unknown): a copy that applied it was current as of then, which is
/// what a bounded follower read's staleness is measured from — not when the batch arrived, which a lagging pipeline
/// delays.
/// </summary>
[GenerateSerializer, Immutable, Alias("orleansshards.ReplicaBatch")]
internal sealed record ReplicaBatch(
    [Id(0)] long Epoch,
    [Id(1)] IReadOnlyList<ReplicatedEntry> Entries,
    [Id(2)] IReadOnlyList<ReplicatedKey> Keys,
    [Id(3)] IReadOnlyList<KeyValuePair<string, SqlValue>>? Meta,
    [Id(4)] long BuiltAtMs = 0)
{
    /// <summary>Now, as a batch's <see cref="BuiltAtMs"/>.</summary>
    public static long Now() => TimeProvider.System.GetUtcNow().ToUnixTimeMilliseconds();
}

/// <summary>A replica's copy as it stands: its fence epoch, newest sequence and the epoch of its newest entry.</summary>
/// <param name="Exists">False when the replica holds no copy (it must be seeded).</param>
/// <param name="Epoch">The highest epoch it has seen (batches of an older primary are refused).</param>
/// <param name="Seq">Its newest sequence.</param>
/// <param name="LastEntryEpoch">The epoch of the primary that wrote its newest entry (-1 when its log is empty).</param>
[GenerateSerializer, Immutable, Alias("orleansshards.ReplicaStatus")]
internal sealed record ReplicaStatus([Id(0)] bool Exists, [Id(1)] long Epoch, [Id(2)] long Seq, [Id(3)] long LastEntryEpoch);

/// <summary>What a replica did with a batch.</summary>
[GenerateSerializer, Alias("orleansshards.ReplicaApplyOutcome")]
internal enum ReplicaApplyOutcome
{
    /// <summary>Every entry is held durably.</summary>
    Applied,

    /// <summary>The batch's primary is older than one the replica has seen: that primary is fenced.</summary>
    StaleEpoch,

    /// <summary>The batch does not follow the replica's newest entry: send the tail from its sequence.</summary>
    Gap,

    /// <summary>The replica cannot apply it (no copy, a restore entry, a conflict): seed it with a whole copy.</summary>
    NeedsSeed,
}

/// <summary>A replica's answer to a batch.</summary>
[GenerateSerializer, Immutable, Alias("orleansshards.ReplicaApplyResult")]
internal sealed record ReplicaApplyResult([Id(0)] ReplicaApplyOutcome Outcome, [Id(1)] long Seq, [Id(2)] long Epoch);
