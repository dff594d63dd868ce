using OrleansShards.Runtime;

namespace OrleansShards.Tests.Runtime.Grains;

public interface ITimerGrain : IGrainWithStringKey
{
    Task Start(TimeSpan dueTime, TimeSpan period);

    Task StopTimer();

    /// <summary>A writing turn that holds until barrier "hold" opens.</summary>
    Task Hold();

    [ReadOnly]
    Task<int> Ticks();
}

/// <summary>Counts timer ticks ("ticks" counter) and records a tick seen inside another turn ("overlap").</summary>
public sealed class TimerGrain(Probe probe) : Grain, ITimerGrain
{
    private IDisposable? _timer;
    private int _ticks;
    private bool _inTurn;

    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        probe.Log("deactivate:" + reason);
        return Task.CompletedTask;
    }

    public Task Start(TimeSpan dueTime, TimeSpan period)
    {
        _timer = RegisterGrainTimer(
            _ =>
            {
                if (_inTurn)
                {
                    probe.Increment("overlap");
                }

                _ticks++;
                probe.Increment("ticks");
                return Task.CompletedTask;
            },
            dueTime,
            period);
        return Task.CompletedTask;
    }

    public Task StopTimer()
    {
        _timer?.Dispose();
        return Task.CompletedTask;
    }

    public async Task Hold()
    {
        _inTurn = true;
        probe.Open("holding");
        await probe.Barrier("hold").Task;
        _inTurn = false;
    }

    public Task<int> Ticks() => Task.FromResult(_ticks);
}
