using OrleansShards.Runtime;
using OrleansShards.Tests.Infrastructure;
using OrleansShards.Tests.Runtime.Grains;

namespace OrleansShards.Tests.Runtime;

/// <summary>Calls through grain references: results, errors, cancellation, timeouts, turn scheduling, call cycles.</summary>
public sealed class GrainRuntimeTests
{
    [Fact]
    public async Task GetGrain_hands_out_one_reference_per_grain_and_interface()
    {
        await using var silo = await TestSilo.StartAsync();
        var a = silo.Grains.GetGrain<ICounterGrain>("a");

        Assert.Same(a, silo.Grains.GetGrain<ICounterGrain>("a"));
        Assert.NotSame(a, silo.Grains.GetGrain<ICounterGrain>("b"));
        Assert.IsAssignableFrom<IReadWriteGrain>(silo.Grains.GetGrain<IReadWriteGrain>("a"));
        await a.Increment().Within();
        Assert.Equal(1, await silo.Grains.GetGrain<ICounterGrain>("a").Get().Within());
        Assert.Equal(0, await silo.Grains.GetGrain<ICounterGrain>("b").Get().Within());
    }

    [Fact]
    public async Task CallAsync_rethrows_grain_exception_with_same_type_and_message_when_method_throws()
    {
        await using var silo = await TestSilo.StartAsync();
        var grain = silo.Grains.GetGrain<ICounterGrain>("a");

        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => grain.Throw("bad input 42").Within());

        Assert.Equal("bad input 42", ex.Message);
    }

    [Fact]
    public async Task CallAsync_rethrows_grains_own_TimeoutException_unchanged_when_method_throws_it_after_an_await()
    {
        // Regression: WithTimeoutAsync turned any TimeoutException into GrainCallTimeoutException.
        await using var silo = await TestSilo.StartAsync();
        var grain = silo.Grains.GetGrain<ICounterGrain>("a");

        var ex = await Assert.ThrowsAsync<TimeoutException>(() => grain.ThrowTimeout("lock wait expired").Within());

        Assert.Equal(typeof(TimeoutException), ex.GetType());
        Assert.Equal("lock wait expired", ex.Message);
    }

    [Fact]
    public async Task CallAsync_passes_callers_token_to_method_and_surfaces_cancellation_when_caller_cancels()
    {
        await using var silo = await TestSilo.StartAsync();
        var grain = silo.Grains.GetGrain<ICounterGrain>("a");
        using var cts = new CancellationTokenSource();

        var call = grain.WaitForCancellation(cts.Token);
        await silo.Probe.Barrier("waiting-for-cancel").Task.Within();
        Assert.Equal(cts.Token, silo.Probe.LastToken);
        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call.Within());
    }

    [Fact]
    public async Task CallAsync_never_runs_queued_call_when_its_token_is_cancelled_while_waiting()
    {
        await using var silo = await TestSilo.StartAsync();
        var grain = silo.Grains.GetGrain<ICounterGrain>("a");
        await grain.Get();
        var hang = grain.Hang();
        using var cts = new CancellationTokenSource();

        var queued = grain.WaitForCancellation(cts.Token);
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => queued.Within());
        silo.Probe.Open("never");
        await hang.Within();
        await grain.Get().Within();

        Assert.False(silo.Probe.Barrier("waiting-for-cancel").Task.IsCompleted);
    }

    [Fact]
    public async Task CallAsync_throws_OperationCanceledException_without_running_when_token_already_cancelled()
    {
        await using var silo = await TestSilo.StartAsync();
        var grain = silo.Grains.GetGrain<ICounterGrain>("a");

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => grain.WaitForCancellation(new CancellationToken(canceled: true)).Within());

        Assert.False(silo.Probe.Barrier("waiting-for-cancel").Task.IsCompleted);
    }

    [Fact]
    public async Task CallAsync_throws_GrainCallTimeoutException_when_method_outlives_CallTimeout()
    {
        await using var silo = await TestSilo.StartAsync(o => o.CallTimeout = TimeSpan.FromSeconds(2));
        var grain = silo.Grains.GetGrain<ICounterGrain>("a");
        await grain.Get();

        var call = grain.Hang();
        silo.Time.Advance(TimeSpan.FromSeconds(1));
        Assert.False(call.IsCompleted);
        silo.Time.Advance(TimeSpan.FromSeconds(1));

        var ex = await Assert.ThrowsAsync<GrainCallTimeoutException>(() => call.Within());
        Assert.Contains("did not complete within 2000 ms", ex.Message, StringComparison.Ordinal);

        // The turn itself is still running (a timeout cannot abort it) and holds the activation.
        var queued = grain.Get();
        Assert.False(queued.IsCompleted);
        silo.Probe.Open("never");
        Assert.Equal(0, await queued.Within());
    }

    [Fact]
    public async Task CallAsync_uses_the_methods_ResponseTimeout_instead_of_CallTimeout_when_it_has_one()
    {
        await using var silo = await TestSilo.StartAsync(o => o.CallTimeout = TimeSpan.FromSeconds(2));
        var grain = silo.Grains.GetGrain<ICounterGrain>("long");
        await grain.Get();

        var call = grain.HangLong();
        silo.Time.Advance(TimeSpan.FromSeconds(5));
        Assert.False(call.IsCompleted);
        silo.Time.Advance(TimeSpan.FromSeconds(5));

        var ex = await Assert.ThrowsAsync<GrainCallTimeoutException>(() => call.Within());
        Assert.Contains("did not complete within 10000 ms", ex.Message, StringComparison.Ordinal);
        silo.Probe.Open("never");
    }

    [Fact]
    public async Task CallAsync_times_out_queued_call_and_never_runs_it_when_turn_ahead_holds_past_CallTimeout()
    {
        await using var silo = await TestSilo.StartAsync(o => o.CallTimeout = TimeSpan.FromSeconds(2));
        var grain = silo.Grains.GetGrain<ICounterGrain>("a");
        await grain.Get();
        var hang = grain.Hang();

        var queued = grain.Increment();
        silo.Time.Advance(TimeSpan.FromSeconds(2));

        await Assert.ThrowsAsync<GrainCallTimeoutException>(() => queued.Within());
        await Assert.ThrowsAsync<GrainCallTimeoutException>(() => hang.Within());
        silo.Probe.Open("never");
        Assert.Equal(0, await grain.Get().Within());
        Assert.Equal(0, silo.Probe.Get("max-inflight"));
    }

    [Fact]
    public async Task CallAsync_never_overlaps_writing_turns_when_many_calls_arrive_concurrently()
    {
        await using var silo = await TestSilo.StartAsync();
        var grain = silo.Grains.GetGrain<ICounterGrain>("a");

        var results = await Task.WhenAll(Enumerable.Range(0, 200).Select(_ => grain.Increment())).Within();

        Assert.Equal(1, silo.Probe.Get("max-inflight"));
        Assert.Equal(Enumerable.Range(1, 200), results.Order());
        Assert.Equal(200, await grain.Get());
    }

    [Fact]
    public async Task CallAsync_runs_ReadOnly_turns_together_when_several_are_called_at_once()
    {
        await using var silo = await TestSilo.StartAsync();
        var grain = silo.Grains.GetGrain<IReadWriteGrain>("a");

        // Each reader returns only once all four are inside: serialised readers would never finish.
        await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => grain.ReadTogether(4))).Within();

        Assert.Equal(4, silo.Probe.Get("max-readers"));
    }

    [Fact]
    public async Task CallAsync_runs_writer_alone_and_before_later_readers_when_writer_queues_behind_readers()
    {
        await using var silo = await TestSilo.StartAsync();
        var grain = silo.Grains.GetGrain<IReadWriteGrain>("a");
        var probe = silo.Probe;
        await grain.Touch();

        var r1 = grain.Read("r1");
        var r2 = grain.Read("r2");
        await Task.WhenAll(probe.Barrier("started:r1").Task, probe.Barrier("started:r2").Task).Within();
        var w = grain.Write("w");
        var r3 = grain.Read("r3");
        Assert.False(probe.Has("start:w"));
        Assert.False(probe.Has("start:r3"));

        probe.Open("r1");
        probe.Open("r2");
        await probe.Barrier("started:w").Task.Within();
        Assert.False(probe.Has("start:r3"));
        probe.Open("w");
        await probe.Barrier("started:r3").Task.Within();
        probe.Open("r3");
        await Task.WhenAll(r1, r2, w, r3).Within();

        var events = probe.Events.ToList();
        Assert.True(events.IndexOf("end:r1") < events.IndexOf("start:w"));
        Assert.True(events.IndexOf("end:r2") < events.IndexOf("start:w"));
        Assert.True(events.IndexOf("end:w") < events.IndexOf("start:r3"));
        Assert.Equal(1, probe.Get("max-beside-writer"));
    }

    [Fact]
    public async Task CallAsync_fails_fast_with_GrainCallCycleException_when_calls_form_cycle_A_B_A()
    {
        await using var silo = await TestSilo.StartAsync();
        var a = silo.Grains.GetGrain<ICycleGrain>("a");

        // No clock is advanced: a hang here would be caught by the real-time cap, not the call timeout.
        var ex = await Assert.ThrowsAsync<GrainCallCycleException>(() => a.CallThrough("b").Within());

        Assert.IsAssignableFrom<TimeoutException>(ex);
        Assert.Equal("a", await a.Echo().Within());
    }

    [Fact]
    public async Task CallAsync_serves_call_back_into_own_grain_when_fire_and_forget_work_calls_after_turn_ended()
    {
        await using var silo = await TestSilo.StartAsync();
        var a = silo.Grains.GetGrain<ICycleGrain>("a");

        await a.StartFireAndForget().Within();
        silo.Probe.Open("fire");

        await Eventually.TrueAsync(() => silo.Probe.Events.Any(e => e.StartsWith("leftover", StringComparison.Ordinal)), "the leftover call to finish");
        Assert.Contains("leftover:a", silo.Probe.Events);
    }

    [Fact]
    public async Task CallAsync_queues_call_from_callees_leftover_work_when_caller_turn_is_still_running()
    {
        // Regression: the cycle walk went past the callee's finished turn and flagged the caller.
        await using var silo = await TestSilo.StartAsync();
        var a = silo.Grains.GetGrain<ICycleGrain>("a");

        Assert.Equal("done", await a.CallPeerThatLeavesWork("b", "go").Within());

        await Eventually.TrueAsync(() => silo.Probe.Events.Any(e => e.StartsWith("leftover", StringComparison.Ordinal)), "the leftover call to finish");
        Assert.Contains("leftover:a", silo.Probe.Events);
    }
}
