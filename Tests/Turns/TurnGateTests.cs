using OrleansShards.Grains.Turns;

namespace OrleansShards.Tests.Turns;

/// <summary>The turn discipline of one activation (<see cref="TurnGate"/>): shared turns together, an exclusive one alone, FIFO.</summary>
public sealed class TurnGateTests
{
    [Fact]
    public async Task Shared_turns_run_together_and_an_exclusive_turn_waits_for_all_of_them()
    {
        var gate = new TurnGate();
        await gate.EnterAsync(shared: true, CancellationToken.None);
        Assert.True(gate.TryEnterShared());

        var exclusive = gate.EnterAsync(shared: false, CancellationToken.None).AsTask();
        Assert.False(exclusive.IsCompleted);

        gate.Exit(shared: true);
        Assert.False(exclusive.IsCompleted);
        gate.Exit(shared: true);
        await exclusive.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.False(gate.IsIdle);

        gate.Exit(shared: false);
        Assert.True(gate.IsIdle);
    }

    [Fact]
    public async Task A_waiting_exclusive_turn_holds_back_later_shared_turns_so_reads_cannot_starve_it()
    {
        var gate = new TurnGate();
        await gate.EnterAsync(shared: true, CancellationToken.None);
        var exclusive = gate.EnterAsync(shared: false, CancellationToken.None).AsTask();

        // A shared turn asked after the exclusive one waits behind it; TryEnterShared refuses at once.
        Assert.False(gate.TryEnterShared());
        var later = gate.EnterAsync(shared: true, CancellationToken.None).AsTask();
        Assert.False(later.IsCompleted);

        gate.Exit(shared: true);
        await exclusive.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.False(later.IsCompleted);
        Assert.False(gate.TryEnterShared());

        gate.Exit(shared: false);
        await later.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True(gate.TryEnterShared());
        gate.Exit(shared: true);
        gate.Exit(shared: true);
        Assert.True(gate.IsIdle);
    }

    [Fact]
    public async Task Waiters_are_served_in_arrival_order_consecutive_shared_ones_together()
    {
        var gate = new TurnGate();
        await gate.EnterAsync(shared: false, CancellationToken.None);
        var waits = new (string Name, bool Shared)[] { ("s1", true), ("s2", true), ("x1", false), ("s3", true), ("x2", false) }
            .Select(w => (w.Name, w.Shared, Task: gate.EnterAsync(w.Shared, CancellationToken.None).AsTask()))
            .ToList();

        gate.Exit(shared: false);
        await Task.WhenAll(waits[0].Task, waits[1].Task).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.All(waits.Skip(2), w => Assert.False(w.Task.IsCompleted));

        gate.Exit(shared: true);
        Assert.False(waits[2].Task.IsCompleted);
        gate.Exit(shared: true);
        await waits[2].Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.False(waits[3].Task.IsCompleted);

        gate.Exit(shared: false);
        await waits[3].Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.False(waits[4].Task.IsCompleted);
        gate.Exit(shared: true);
        await waits[4].Task.WaitAsync(TimeSpan.FromSeconds(10));
        gate.Exit(shared: false);
        Assert.True(gate.IsIdle);
    }

    [Fact]
    public async Task A_canceled_waiter_is_skipped_and_does_not_hold_back_those_behind_it()
    {
        var gate = new TurnGate();
        await gate.EnterAsync(shared: true, CancellationToken.None);
        using var cancel = new CancellationTokenSource();
        var canceled = gate.EnterAsync(shared: false, cancel.Token).AsTask();
        var behind = gate.EnterAsync(shared: true, CancellationToken.None).AsTask();

        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => canceled);

        // The exclusive waiter at the head is gone: the shared one behind it joins the shared turn still held.
        await behind.WaitAsync(TimeSpan.FromSeconds(10));
        gate.Exit(shared: true);
        gate.Exit(shared: true);
        Assert.True(gate.IsIdle);
        Assert.True(gate.TryEnterShared());
        gate.Exit(shared: true);
    }

    [Fact]
    public async Task Under_concurrent_callers_an_exclusive_turn_never_overlaps_another_turn()
    {
        var gate = new TurnGate();
        var shared = 0;
        var exclusive = 0;
        var violations = 0;
        var exclusiveRuns = 0;
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(2);

        async Task CallerAsync(int seed)
        {
            var random = new Random(seed);
            for (var i = 0; i < 2_000 && DateTime.UtcNow < deadline; i++)
            {
                var kind = random.Next(10);
                if (kind == 0)
                {
                    await gate.EnterAsync(shared: false, CancellationToken.None);
                    if (Interlocked.Increment(ref exclusive) != 1 || Volatile.Read(ref shared) != 0)
                    {
                        Interlocked.Increment(ref violations);
                    }

                    Interlocked.Increment(ref exclusiveRuns);
                    await Task.Yield();
                    Interlocked.Decrement(ref exclusive);
                    gate.Exit(shared: false);
                }
                else if (kind < 5 ? gate.TryEnterShared() : await EnterSharedAsync())
                {
                    Interlocked.Increment(ref shared);
                    if (Volatile.Read(ref exclusive) != 0)
                    {
                        Interlocked.Increment(ref violations);
                    }

                    if (random.Next(4) == 0)
                    {
                        await Task.Yield();
                    }

                    Interlocked.Decrement(ref shared);
                    gate.Exit(shared: true);
                }
            }
        }

        async Task<bool> EnterSharedAsync()
        {
            await gate.EnterAsync(shared: true, CancellationToken.None);
            return true;
        }

        await Task.WhenAll(Enumerable.Range(0, 16).Select(i => Task.Run(() => CallerAsync(i)))).WaitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(0, violations);
        Assert.True(exclusiveRuns > 0);
        Assert.True(gate.IsIdle);
    }
}
