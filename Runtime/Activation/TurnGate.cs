namespace OrleansShards.Runtime.Activation;

/// <summary>
/// The turn scheduler of one activation: a FIFO reader/writer gate over async turns. A writing
/// turn runs alone; read-only turns run together, never beside a writer. Waiters are served in
/// arrival order, so a stream of readers cannot starve a writer. A waiter whose caller gave up
/// (cancelled, or past its deadline) is skipped and never runs.
/// </summary>
internal sealed class TurnGate
{
    private readonly Lock _lock = new();
    private readonly Queue<Waiter> _waiters = new();
    private int _readers;
    private bool _writer;

    /// <summary>Creates a gate; <paramref name="heldByWriter"/> starts it inside a writing turn (activation).</summary>
    public TurnGate(bool heldByWriter = false) => _writer = heldByWriter;

    public bool IsIdle
    {
        get
        {
            lock (_lock)
            {
                return !_writer && _readers == 0 && _waiters.Count == 0;
            }
        }
    }

    public int QueueLength
    {
        get
        {
            lock (_lock)
            {
                return _waiters.Count;
            }
        }
    }

    /// <summary>Waits for a turn. <paramref name="deadline"/> is a <see cref="TimeProvider"/> timestamp, or 0 for none.</summary>
    public ValueTask EnterAsync(bool readOnly, TimeProvider time, long deadline, CancellationToken cancellationToken)
    {
        Waiter waiter;
        lock (_lock)
        {
            if (_waiters.Count == 0 && !_writer && (readOnly || _readers == 0))
            {
                if (readOnly)
                {
                    _readers++;
                }
                else
                {
                    _writer = true;
                }

                return ValueTask.CompletedTask;
            }

            waiter = new Waiter(this, readOnly, time, deadline);
            _waiters.Enqueue(waiter);
        }

        return cancellationToken.CanBeCanceled ? WaitAsync(waiter, cancellationToken) : new ValueTask(waiter.Task);
    }

    // The registration lives exactly as long as the wait: it is disposed when the waiter completes,
    // however it completes, so long-lived tokens (a host's stopping token) do not collect registrations.
    private static async ValueTask WaitAsync(Waiter waiter, CancellationToken cancellationToken)
    {
        using (cancellationToken.UnsafeRegister(static (s, ct) => ((Waiter)s!).Cancel(ct), waiter))
        {
            await waiter.Task.ConfigureAwait(false);
        }
    }

    // A cancelled waiter at the head must not hold back the waiters behind it (for example readers
    // that could run now beside other readers) until some turn happens to exit.
    private void OnWaiterCancelled()
    {
        lock (_lock)
        {
            Pump();
        }
    }

    public void Exit(bool readOnly)
    {
        lock (_lock)
        {
            if (readOnly)
            {
                _readers--;
            }
            else
            {
                _writer = false;
            }

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

            if (next.Deadline != 0 && next.Time.GetTimestamp() >= next.Deadline)
            {
                _waiters.Dequeue();
                next.TrySetException(new GrainCallTimeoutException("The call timed out while waiting for its turn."));
                continue;
            }

            if (next.ReadOnly)
            {
                if (_writer)
                {
                    return;
                }

                _waiters.Dequeue();
                if (next.TrySetResult())
                {
                    _readers++;
                }

                continue;
            }

            if (_writer || _readers > 0)
            {
                return;
            }

            _waiters.Dequeue();
            if (next.TrySetResult())
            {
                _writer = true;
                return;
            }
        }
    }

    private sealed class Waiter(TurnGate gate, bool readOnly, TimeProvider time, long deadline)
        : TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)
    {
        public bool ReadOnly { get; } = readOnly;

        public TimeProvider Time { get; } = time;

        public long Deadline { get; } = deadline;

        public void Cancel(CancellationToken cancellationToken)
        {
            if (TrySetCanceled(cancellationToken))
            {
                gate.OnWaiterCancelled();
            }
        }
    }
}
