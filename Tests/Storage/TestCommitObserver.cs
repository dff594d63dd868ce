using OrleansShards.Grains.Writes;

namespace OrleansShards.Tests.Storage;

/// <summary>A commit observer whose steps the test sets (each may be left unset).</summary>
internal sealed class TestCommitObserver : ICommitObserver
{
    public Action<CommittedGroup>? OnCommitted { get; set; }

    public Action<CommittedGroup>? OnAcknowledged { get; set; }

    public Action<int>? OnGroupCommitted { get; set; }

    public void Committed(CommittedGroup commit) => OnCommitted?.Invoke(commit);

    public void Acknowledged(CommittedGroup commit) => OnAcknowledged?.Invoke(commit);

    public void GroupCommitted(int size) => OnGroupCommitted?.Invoke(size);
}
