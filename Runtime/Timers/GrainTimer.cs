using OrleansShards.Runtime.Activation;
using OrleansShards.Runtime.Calls;

namespace OrleansShards.Runtime.Timers;

/// <summary>
/// A non-durable timer of one activation. Each tick runs the callback as a writing turn (so it never
/// overlaps a call); ticks do not overlap each other and do not count as activity for idle collection.
/// Stops on dispose or deactivation.
/// </summary>
internal sealed class GrainTimer : IDisposable
{
    private readonly ActivationData _activation;
    private readonly Func<CancellationToken, Task> _callback;
    private readonly CancellationTokenSource _disposed = new();
    private readonly ITimer _timer;
    private readonly TimeSpan _period;
    private int _running;

    private GrainTimer(ActivationData activation, Func<CancellationToken, Task> callback, TimeSpan dueTime, TimeSpan period)
    {
        _activation = activation;
        _callback = callback;
        _period = period;
        using (ExecutionContext.SuppressFlow())
        {
            _timer = activation.Runtime.Time.CreateTimer(static s => ((GrainTimer)s!).Tick(), this, dueTime, period);
        }
    }

    public static IDisposable Start(ActivationData activation, Func<CancellationToken, Task> callback, TimeSpan dueTime, TimeSpan period)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(dueTime, TimeSpan.Zero);
        if (period < TimeSpan.Zero && period != Timeout.InfiniteTimeSpan)
        {
            throw new ArgumentOutOfRangeException(nameof(period), period, "A timer period must be positive, zero or Timeout.InfiniteTimeSpan (one tick).");
        }

        var timer = new GrainTimer(activation, callback, dueTime, period);
        activation.AddTimer(timer);

        // Registered during or after deactivation (e.g. from OnDeactivateAsync): DisposeTimers already
        // ran, so nothing would ever stop it. State is set to Deactivating before DisposeTimers.
        if (activation.State is ActivationState.Deactivating or ActivationState.Invalid)
        {
            timer.Dispose();
        }

        return timer;
    }

    private void Tick()
    {
        if (_disposed.IsCancellationRequested || Interlocked.Exchange(ref _running, 1) == 1)
        {
            return;
        }

        _ = RunAsync();
    }

    private async Task RunAsync()
    {
        var gate = _activation.Gate;
        try
        {
            await gate.EnterAsync(readOnly: false, _activation.Runtime.Time, deadline: 0, _disposed.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            Volatile.Write(ref _running, 0);
            return;
        }

        // The tick is a turn of this activation: calls it makes carry the activation on their chain
        // (a call back into it fails fast as a cycle), and nothing of the context that happened to
        // fire the timer leaks in.
        CallChain.Clear();
        var node = CallChain.Enter(_activation);
        try
        {
            if (_activation.State == ActivationState.Valid && !_disposed.IsCancellationRequested)
            {
                await _callback(_disposed.Token).ConfigureAwait(false);
            }
        }
        catch (Exception) when (_disposed.IsCancellationRequested)
        {
        }
        catch (Exception)
        {
            // A failing tick does not stop the timer; the grain owns its error reporting.
        }
        finally
        {
            node.Finish();
            gate.Exit(readOnly: false);
            Volatile.Write(ref _running, 0);
            if (_period <= TimeSpan.Zero)
            {
                Dispose();
            }
        }
    }

    public void Dispose()
    {
        if (_disposed.IsCancellationRequested)
        {
            return;
        }

        _disposed.Cancel();
        _timer.Dispose();
        _activation.RemoveTimer(this);
    }
}
