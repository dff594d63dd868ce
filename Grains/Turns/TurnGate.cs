namespace OrleansShards.Grains.Turns;

/// <summary>
/// The turn discipline of one activation, on top of Orleans' reentrant scheduling: a FIFO
/// reader/writer gate over async calls. An exclusive call (DDL, restore, a shard switch, a
/// reminder tick) runs alone; shared calls (reads, and the writes that feed group commit) run
/// together, never beside an exclusive one. Waiters are served in arrival order, so a stream of
/// shared calls cannot starve an exclusive one. A waiter whose caller gave up is skipped.
/// </summary>
internal sealed class TurnGate
{
    private readonly Lock _lock = new();
    private readonly Queue<Waiter> _waiters = new();
    private int _shared;
    private bool _exclusive;

    /// <summary>True when no call holds or waits for the gate.</summary>
    public bool IsIdle
    {
        get
        {
            lock (_lock)
            {
                return !_exclusive && _shared == 0 && _waiters.Count == 0;
            }
        }
    }

    /// <summary>
    /// Takes a shared turn only if one is free now (no exclusive turn held or waited for); then <see cref="Exit"/>
    /// (shared) ends it. Never waits.
    /// </summary>
    public bool TryEnterShared()
    {
        lock (_lock)
        {
            if (_waiters.Count == 0 && !_exclusive)
            {
                _shared++;
                return true;
            }

            return false;
        }
    }

    /// <summary>Waits for a turn; <see cref="Exit"/> with the same <paramref name="shared"/> ends it.</summary>
    public ValueTask EnterAsync(bool shared, CancellationToken cancellationToken)
    {
        Waiter waiter;
        lock (_lock)
        {
            if (_waiters.Count == 0 && !_exclusive && (shared || _shared == 0))
            {
                if (shared)
                {
                    _shared++;
                }
                else
                {
                    _exclusive = true;
                }

                return ValueTask.CompletedTask;
            }

            waiter = new Waiter(this, shared);
            _waiters.Enqueue(waiter);
        }

        return cancellationToken.CanBeCanceled ? WaitAsync(waiter, cancellationToken) : new ValueTask(waiter.Task);
    }

    /// <summary>Ends a turn entered with <see cref="EnterAsync"/>.</summary>
    public void Exit(bool shared)
    {
        lock (_lock)
        {
            if (shared)
            {
                _shared--;
            }
            else
            {
                _exclusive = false;
            }

            Pump();
        }
    }

    // The registration lives exactly as long as the wait, so long-lived tokens do not collect registrations.
    private static async ValueTask WaitAsync(Waiter waiter, CancellationToken cancellationToken)
    {
        using (cancellationToken.UnsafeRegister(static (s, ct) => ((Waiter)s!).Cancel(ct), waiter))
        {
            await waiter.Task.ConfigureAwait(false);
        }
    }

    // A cancelled waiter at the head must not hold back the waiters behind it.
    private void OnWaiterCancelled()
    {
        lock (_lock)
        {
            Pump();
        }
    }

    private void Pump()
    {
        while (_waiters.TryPeek(out var next))
        {
            if (next.Task.IsCompleted)
            {
                _waiters.Dequeue();
                continue;
            }

            if (next.Shared)
            {
                if (_exclusive)
                {
                    return;
                }

                _waiters.Dequeue();
                if (next.TrySetResult())
                {
                    _shared++;
                }

                continue;
            }

            if (_exclusive || _shared > 0)
            {
                return;
            }

            _waiters.Dequeue();
            if (next.TrySetResult())
            {
                _exclusive = true;
                return;
            }
        }
    }

    private sealed class Waiter(TurnGate gate, bool shared) : TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)
    {
        public bool Shared { get; } = shared;

        public void Cancel(CancellationToken cancellationToken)
        {
            if (TrySetCanceled(cancellationToken))
            {
                gate.OnWaiterCancelled();
            }
        }
    }
}
