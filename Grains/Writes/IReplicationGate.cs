namespace OrleansShards.Grains.Writes;

/// <summary>The output gate of a replicated shard (see <see cref="ShardWriter.Replication"/>).</summary>
internal interface IReplicationGate
{
    /// <summary>
    /// Ships <paramref name="commit"/> (already committed locally) to the shard's replicas and returns once a majority
    /// of its copies, this one included, hold it durably. Throws a <see cref="ShardException"/> (<c>UNAVAILABLE</c>)
    /// when no majority answers in time, or when a replica has seen a newer primary.
    /// </summary>
    Task ReplicateAsync(CommittedGroup commit);
}
