using OrleansShards.Runtime;
using OrleansShards.Runtime.Activation;
using OrleansShards.Tests.Infrastructure;

namespace OrleansShards.Tests.Runtime;

/// <summary>The per-activation reader/writer FIFO gate, tested on its own.</summary>
public sealed class TurnGateTests
{
    private readonly FakeTimeProvider _time = new();

    [Fact]
    public async Task EnterAsync_grants_waiters_in_arrival_order_when_writer_exits()
    {
        var gate = new TurnGate(heldByWriter: true);
        var w1 = gate.EnterAsync(readOnly: false, _time, 0, CancellationToken.None).AsTask();
        var r1 = gate.EnterAsync(readOnly: true, _time, 0, CancellationToken.None).AsTask();
        var r2 = gate.EnterAsync(readOnly: true, _time, 0, CancellationToken.None).AsTask();
        var w2 = gate.EnterAsync(readOnly: false, _time, 0, CancellationToken.None).AsTask();

        gate.Exit(readOnly: false);
        await w1.Within();
        Assert.False(r1.IsCompleted);

        gate.Exit(readOnly: false);
        await Task.WhenAll(r1, r2).Within();
        Assert.False(w2.IsCompleted);

        gate.Exit(readOnly: true);
        Assert.False(w2.IsCompleted);
        gate.Exit(readOnly: true);
        await w2.Within();
        gate.Exit(readOnly: false);
        Assert.True(gate.IsIdle);
    }

    [Fact]
    public async Task EnterAsync_admits_readers_behind_a_cancelled_writer_when_only_readers_hold_the_gate()
    {
        // Regression: a cancelled writer at the head kept later readers waiting until the running readers exited.
        var gate = new TurnGate();
        await gate.EnterAsync(readOnly: true, _time, 0, CancellationToken.None);
        using var cts = new CancellationTokenSource();
        var writer = gate.EnterAsync(readOnly: false, _time, 0, cts.Token).AsTask();
        var reader = gate.EnterAsync(readOnly: true, _time, 0, CancellationToken.None).AsTask();
        Assert.False(reader.IsCompleted);

        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => writer.Within());
        await reader.Within();
        gate.Exit(readOnly: true);
        gate.Exit(readOnly: true);
        Assert.True(gate.IsIdle);
    }

    [Fact]
    public async Task Exit_fails_waiter_with_GrainCallTimeoutException_and_skips_it_when_its_deadline_passed()
    {
        var gate = new TurnGate(heldByWriter: true);
        var deadline = _time.GetTimestamp() + TimeSpan.FromSeconds(1).Ticks;
        var late = gate.EnterAsync(readOnly: false, _time, deadline, CancellationToken.None).AsTask();
        var next = gate.EnterAsync(readOnly: false, _time, 0, CancellationToken.None).AsTask();

        _time.Advance(TimeSpan.FromSeconds(1));
        gate.Exit(readOnly: false);

        await Assert.ThrowsAsync<GrainCallTimeoutException>(() => late.Within());
        await next.Within();
        Assert.Equal(0, gate.QueueLength);
    }
}
