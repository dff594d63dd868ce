namespace OrleansShards.Grains.Writes;

/// <summary>
/// Told about the writer's commits. The writer holds its observers in a fixed list (given when it is created) and
/// calls them in that order, on its loop; the next transaction starts only after they returned. Every member has a
/// default that does nothing, so an observer implements only what it needs.
/// </summary>
internal interface ICommitObserver
{
    /// <summary>
    /// Right after BEGIN, holding the write lock, before any work runs. Throwing a <see cref="ShardException"/>
    /// rolls the transaction back and fails every work of the group with it (the cluster's fence).
    /// </summary>
    void Began(Storage.ShardConnection connection)
    {
    }

    /// <summary>
    /// Inside a data-changing transaction, before COMMIT. A non-null result is stored in <c>_outbox</c> under the
    /// commit's sequence, so the event and the commit are durable together; the first observer to return one wins.
    /// It may run statements on <see cref="CommitContext.Connection"/> (same transaction).
    /// </summary>
    byte[]? BeforeCommit(CommitContext commit) => null;

    /// <summary>
    /// After each commit that changed data or schema (and after a restore), before its works are acknowledged:
    /// state a caller may rely on as soon as its write returns is updated here. Setting
    /// <see cref="CommittedGroup.HasAcknowledgedWork"/> asks for <see cref="Acknowledged"/>.
    /// </summary>
    void Committed(CommittedGroup commit)
    {
    }

    /// <summary>
    /// After the works of the commit were acknowledged (their callers resumed first), in commit order: work no
    /// caller waits for, such as publishing the commit's events. Only for commits that asked for it, and restores.
    /// </summary>
    void Acknowledged(CommittedGroup commit)
    {
    }

    /// <summary>After every transaction, with the number of works it held.</summary>
    void GroupCommitted(int size)
    {
    }
}
