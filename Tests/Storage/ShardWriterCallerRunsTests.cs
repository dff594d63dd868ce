using Microsoft.Extensions.Logging.Abstractions;
using OrleansShards.Grains.Hosting;
using OrleansShards.Grains.Storage;
using OrleansShards.Grains.Writes;
using OrleansShards.Tests.Infrastructure;

namespace OrleansShards.Tests.Storage;

/// <summary>
/// The writer committing a work on its caller's thread inside a <see cref="CallerRuns"/> scope, and handing it to its
/// loop whenever something else is running or waiting. Whether a commit ran on the caller's thread is seen from its
/// <see cref="ShardWriter.Committed"/> handler: the scope's flag is thread-static, so only code running synchronously
/// inside the caller's scope sees it.
/// </summary>
public sealed class ShardWriterCallerRunsTests
{
    [Fact]
    public async Task An_idle_writer_commits_a_mutation_on_the_callers_thread_inside_the_scope_and_on_its_loop_outside()
    {
        using var dir = new TempDirectory("writer-caller-runs");
        using var connection = ShardWriterHookTests.OpenItems(dir);
        var observer = new TestCommitObserver();
        await using var writer = NewWriter(connection, observer);
        var onCallerThread = new List<bool>();
        observer.OnCommitted = _ => onCallerThread.Add(CallerRuns.IsActive);

        Task<WriteOutcome> inline;
        Task<WriteOutcome> inlineBatch;
        var batch = new WriteWork(WriteKind.Atomic, [new Statement("INSERT INTO items(id, name) VALUES (2, 'x')"), new Statement("INSERT INTO items(id, name) VALUES (3, 'y')")]);
        using (CallerRuns.Enter())
        {
            inline = writer.EnqueueAsync(Insert(1));
            Assert.True(inline.IsCompletedSuccessfully, "the commit did not finish on the caller's thread");

            // The first commit gave the writer back before it returned: the batch finds it idle too.
            inlineBatch = writer.EnqueueAsync(batch);
            Assert.True(inlineBatch.IsCompletedSuccessfully, "the batch did not finish on the caller's thread");
        }

        var queued = writer.EnqueueAsync(Insert(4));
        long[] sequences = [(await inline).Sequence, (await inlineBatch).Sequence, (await queued).Sequence];
        Assert.Equal([1L, 2L, 3L], sequences);
        Assert.Equal([true, true, false], onCallerThread);
        Assert.Equal(4, connection.ExecuteScalar("SELECT count(*) FROM items"));
    }

    [Fact]
    public async Task Inside_the_scope_a_work_waits_its_turn_behind_a_running_group_and_commits_on_the_loop()
    {
        using var dir = new TempDirectory("writer-caller-runs");
        using var connection = ShardWriterHookTests.OpenItems(dir);
        var observer = new TestCommitObserver();
        await using var writer = NewWriter(connection, observer);
        var onCallerThread = new List<bool>();
        observer.OnCommitted = _ => onCallerThread.Add(CallerRuns.IsActive);

        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var maintenance = writer.RunMaintenanceAsync(async _ =>
        {
            started.SetResult();
            await gate.Task;
        });
        await started.Task.Within();

        Task<WriteOutcome> waiting;
        using (CallerRuns.Enter())
        {
            waiting = writer.EnqueueAsync(Insert(1));
        }

        Assert.False(waiting.IsCompleted);
        gate.SetResult();
        await maintenance.Within();
        Assert.Equal(1, (await waiting.Within()).Sequence);
        Assert.Equal([false], onCallerThread);
    }

    [Fact]
    public async Task The_follow_up_of_a_commit_made_on_the_callers_thread_runs_elsewhere_before_the_next_transaction()
    {
        using var dir = new TempDirectory("writer-caller-runs");
        using var connection = ShardWriterHookTests.OpenItems(dir);
        var observer = new TestCommitObserver();
        var writer = NewWriter(connection, observer);
        var events = new List<string>();
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var followUpStarted = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        observer.OnCommitted = group =>
        {
            lock (events)
            {
                events.Add("commit " + group.Sequence);
            }

            group.HasAcknowledgedWork = group.Sequence == 1;
        };
        observer.OnAcknowledged = group =>
        {
            followUpStarted.SetResult(CallerRuns.IsActive);
            gate.Task.Wait();
            lock (events)
            {
                events.Add("follow-up " + group.Sequence);
            }
        };

        Task<WriteOutcome> first;
        using (CallerRuns.Enter())
        {
            first = writer.EnqueueAsync(Insert(1));
        }

        // Acknowledged first: the follow-up waits on the gate, off the caller's thread.
        Assert.True(first.IsCompletedSuccessfully);
        Assert.False(await followUpStarted.Task.Within());

        Task<WriteOutcome> second;
        using (CallerRuns.Enter())
        {
            second = writer.EnqueueAsync(Insert(2));
        }

        var disposed = writer.DisposeAsync().AsTask();
        Assert.False(second.IsCompleted, "the next transaction did not wait for the follow-up");
        Assert.False(disposed.IsCompleted, "dispose did not wait for the follow-up");
        gate.SetResult();
        Assert.Equal(2, (await second.Within()).Sequence);
        await disposed.Within();
        Assert.Equal(["commit 1", "follow-up 1", "commit 2"], events);
    }

    [Fact]
    public async Task A_failing_statement_committed_on_the_callers_thread_fails_only_its_work_and_the_writer_goes_on()
    {
        using var dir = new TempDirectory("writer-caller-runs");
        using var connection = ShardWriterHookTests.OpenItems(dir);
        var observer = new TestCommitObserver();
        await using var writer = NewWriter(connection, observer);

        Task<WriteOutcome> duplicate;
        using (CallerRuns.Enter())
        {
            await writer.EnqueueAsync(Insert(1));
            duplicate = writer.EnqueueAsync(Insert(1));
        }

        var error = await Assert.ThrowsAsync<ShardException>(() => duplicate);
        Assert.Equal(ShardErrorCode.ConflictUnique, error.Code);
        using (CallerRuns.Enter())
        {
            Assert.Equal(2, (await writer.EnqueueAsync(Insert(2))).Sequence);
        }
    }

    [Fact]
    public async Task A_writer_being_disposed_refuses_work_inside_the_scope_as_retryable()
    {
        using var dir = new TempDirectory("writer-caller-runs");
        using var connection = ShardWriterHookTests.OpenItems(dir);
        var observer = new TestCommitObserver();
        var writer = NewWriter(connection, observer);
        await writer.DisposeAsync();

        using (CallerRuns.Enter())
        {
            var error = Assert.Throws<ShardException>(() => { _ = writer.EnqueueAsync(Insert(1)); });
            Assert.Equal(ShardErrorCode.Retryable, error.Code);
        }
    }

    [Fact]
    public async Task Inside_the_scope_a_work_is_handed_to_the_loop_while_other_work_waits_for_threads()
    {
        using var dir = new TempDirectory("writer-caller-runs");
        using var connection = ShardWriterHookTests.OpenItems(dir);
        var busy = false;
        var observer = new TestCommitObserver();
        await using var writer = NewWriter(connection, observer);
        writer.OthersWaitForThreads = () => busy;
        var onCallerThread = new List<bool>();
        observer.OnCommitted = _ => onCallerThread.Add(CallerRuns.IsActive);

        Task<WriteOutcome> inline;
        using (CallerRuns.Enter())
        {
            inline = writer.EnqueueAsync(Insert(1));
        }

        busy = true;
        Task<WriteOutcome> handedOff;
        using (CallerRuns.Enter())
        {
            handedOff = writer.EnqueueAsync(Insert(2));
        }

        await Task.WhenAll(inline, handedOff);
        Assert.Equal([true, false], onCallerThread);
    }

    /// <summary>A writer whose callers' threads are never wanted elsewhere (the test process's pool is busy with other tests).</summary>
    private static ShardWriter NewWriter(ShardConnection connection, TestCommitObserver observer) =>
        new(connection, new TableShardOptions(), TimeProvider.System, NullLogger.Instance, observers: [observer]) { OthersWaitForThreads = static () => false };

    private static WriteWork Insert(int id) => new(WriteKind.Mutation, [new Statement("INSERT INTO items(id, name) VALUES (?, 'x')", [id])]);
}
