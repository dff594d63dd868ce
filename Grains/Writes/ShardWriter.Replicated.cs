using OrleansShards.Grains.Replication;
using OrleansShards.Grains.Storage;

namespace OrleansShards.Grains.Writes;

/// <summary>
/// A replica's applies through the same writer as a primary's commits: queued to its loop, run alone between
/// transactions, each transaction begun with the writer's busy retry and committed with its durability (the replica's
/// connection: WAL, <c>synchronous = FULL</c>), the writer's sequence, commit count (the primary's commits, one per entry) and logged bytes kept, and its
/// observers told about each entry once committed, in order. What differs is only where the changes come from: the
/// primary's changesets, applied exactly and logged under the primary's sequence and epoch (<see cref="ReplicaLog"/>).
/// </summary>
internal sealed partial class ShardWriter
{
    /// <summary>
    /// Applies <paramref name="batch"/> on this replica's copy, fenced at <paramref name="fence"/> (an older primary's
    /// batch is refused); completes once the entries are durable here, with the copy's outcome.
    /// </summary>
    public async Task<ReplicaApplyResult> ApplyReplicatedAsync(ReplicaBatch batch, long fence)
    {
        var work = new WriteWork(batch, fence);
        await EnqueueAsync(work).ConfigureAwait(false);
        return work.ReplicaResult!;
    }

    /// <summary>Runs a <see cref="WriteKind.Replicated"/> work on the loop; returns the last entry's commit for the acknowledged step.</summary>
    private async Task<CommittedGroup?> ApplyReplicatedAsync(WriteWork work)
    {
        CommittedGroup? last = null;
        var result = await ReplicaLog.ApplyAsync(
            _connection,
            work.ReplicaBatch!,
            work.ReplicaFence,
            async () => await BusyRetry.RunAsync(_begin, _options.BusyRetryAttempts, TimeProvider.System).ConfigureAwait(false),
            async () => await BusyRetry.RunAsync(_commit, _options.BusyRetryAttempts, TimeProvider.System).ConfigureAwait(false),
            entry =>
            {
                Sequence = entry.Seq;
                _lastAtMs = Math.Max(_lastAtMs, entry.AtMs);
                LoggedBytes += entry.Changeset?.Length ?? 0;
                Commits++;
                _commitsSinceMeasure++;
                MeasuredAtCommit = false;
                last = new CommittedGroup(entry.Seq, entry.AtMs, entry.Changeset, entry.Ddl) { Epoch = entry.Epoch };
                foreach (var observer in _observers)
                {
                    observer.Committed(last);
                }
            }).ConfigureAwait(false);

        // Whatever the outcome, the writer follows the copy (a refused batch leaves it where it was).
        Sequence = result.Seq >= 0 ? result.Seq : Sequence;
        work.ReplicaResult = result;
        work.Succeed(new WriteOutcome([], Sequence));
        return last is { HasAcknowledgedWork: true } ? last : null;
    }
}
