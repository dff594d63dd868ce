using OrleansShards.Runtime;

namespace OrleansShards.Tests.Runtime.Grains;

public interface ICounterGrain : IGrainWithStringKey
{
    /// <summary>A writing turn with awaits inside; tracks how many writing turns overlap.</summary>
    Task<int> Increment();

    [ReadOnly]
    Task<int> Get();

    /// <summary>Identity of the activation serving the call (new per activation).</summary>
    Task<Guid> ActivationId();

    Task<bool> ActivatedBeforeFirstCall();

    Task Throw(string message);

    Task ThrowTimeout(string message);

    Task<bool> WaitForCancellation(CancellationToken cancellationToken);

    Task Hang();

    /// <summary>As <see cref="Hang"/>, with its own call timeout of 10 s.</summary>
    [ResponseTimeout("00:00:10")]
    Task HangLong();

    Task Deactivate();
}

public sealed class CounterGrain(Probe probe) : Grain, ICounterGrain
{
    private readonly Guid _activationId = Guid.NewGuid();
    private bool _activated;
    private int _value;

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        await Task.Yield();
        _activated = true;
        probe.Log("activate:" + GetPrimaryKeyString());
    }

    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        probe.Log("deactivate:" + GetPrimaryKeyString() + ":" + reason);
        return Task.CompletedTask;
    }

    public async Task<int> Increment()
    {
        var inside = probe.Increment("inflight");
        probe.Max("max-inflight", inside);
        await Task.Yield();
        var read = _value;
        await Task.Yield();
        _value = read + 1;
        probe.Decrement("inflight");
        return _value;
    }

    public Task<int> Get() => Task.FromResult(_value);

    public Task<Guid> ActivationId() => Task.FromResult(_activationId);

    public Task<bool> ActivatedBeforeFirstCall() => Task.FromResult(_activated);

    public Task Throw(string message) => throw new InvalidOperationException(message);

    public async Task ThrowTimeout(string message)
    {
        await Task.Yield();
        throw new TimeoutException(message);
    }

    public async Task<bool> WaitForCancellation(CancellationToken cancellationToken)
    {
        probe.LastToken = cancellationToken;
        probe.Open("waiting-for-cancel");
        await Task.Delay(Timeout.InfiniteTimeSpan, cancellationToken);
        return true;
    }

    public Task Hang() => probe.Barrier("never").Task;

    public Task HangLong() => probe.Barrier("never").Task;

    public Task Deactivate()
    {
        DeactivateOnIdle();
        return Task.CompletedTask;
    }
}
