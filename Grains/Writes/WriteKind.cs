namespace OrleansShards.Grains.Writes;

/// <summary>What a unit of write work is; DDL and maintenance run alone in their own transaction.</summary>
internal enum WriteKind
{
    /// <summary>One statement (a mutation).</summary>
    Mutation,
    /// <summary>Several statements, all or none (a batch or a transaction's COMMIT).</summary>
    Atomic,
    /// <summary>Schema statements, logged as DDL; runs alone.</summary>
    Ddl,
    /// <summary>Engine work on the writer connection (capacity, restore); runs alone, outside any transaction.</summary>
    Maintenance,
    /// <summary>
    /// Rows the engine writes into tenant tables (rows moved in or out by sharding); runs alone in its own
    /// transaction through the commit pipeline, so it is captured, logged with a sequence and outboxed like a
    /// tenant write. Tenant triggers it fires are judged by the tenant policy.
    /// </summary>
    Engine,
    /// <summary>
    /// A batch a primary committed, applied on a replica's copy (<see cref="ShardWriter.ApplyReplicatedAsync"/>): runs
    /// alone; its entries keep the primary's sequences and epochs, and its transactions begin and commit as the writer's.
    /// </summary>
    Replicated,
}
