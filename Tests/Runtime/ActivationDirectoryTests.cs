using OrleansShards.Runtime;
using OrleansShards.Tests.Infrastructure;
using OrleansShards.Tests.Runtime.Grains;

namespace OrleansShards.Tests.Runtime;

/// <summary>Activation lifecycle: first call, one activation per key, idle collection, eviction, failures.</summary>
public sealed class ActivationDirectoryTests
{
    private static readonly Action<GrainRuntimeOptions> NoBackgroundCollection = o =>
    {
        o.CollectionInterval = TimeSpan.FromDays(1);
        o.IdleDeactivationAge = TimeSpan.FromMinutes(15);
    };

    private static GrainId CounterId(string key) => new(GrainTypeRegistry.GrainTypeName(typeof(CounterGrain)), key);

    [Fact]
    public async Task GetOrActivate_runs_OnActivateAsync_before_first_call_when_grain_is_first_called()
    {
        await using var silo = await TestSilo.StartAsync(NoBackgroundCollection);
        Assert.False(silo.Runtime.Directory.IsActive(CounterId("a")));

        var activatedFirst = await silo.Grains.GetGrain<ICounterGrain>("a").ActivatedBeforeFirstCall().Within();

        Assert.True(activatedFirst);
        Assert.True(silo.Runtime.Directory.IsActive(CounterId("a")));
        Assert.Equal(1, silo.Probe.Count("activate:a"));
    }

    [Fact]
    public async Task GetOrActivate_creates_one_activation_when_many_first_calls_race_on_one_key()
    {
        await using var silo = await TestSilo.StartAsync(NoBackgroundCollection);

        var ids = await Task.WhenAll(Enumerable.Range(0, 50).Select(_ => silo.Grains.GetGrain<ICounterGrain>("a").ActivationId())).Within();

        Assert.Single(ids.Distinct());
        Assert.Equal(1, silo.Probe.Count("activate:a"));
    }

    [Fact]
    public async Task GetOrActivate_creates_separate_activations_when_keys_differ()
    {
        await using var silo = await TestSilo.StartAsync(NoBackgroundCollection);

        var a = await silo.Grains.GetGrain<ICounterGrain>("a").ActivationId();
        var b = await silo.Grains.GetGrain<ICounterGrain>("b").ActivationId();
        await silo.Grains.GetGrain<ICounterGrain>("a").Increment();

        Assert.NotEqual(a, b);
        Assert.Equal(0, await silo.Grains.GetGrain<ICounterGrain>("b").Get());
        Assert.Equal(2, silo.Runtime.Directory.Count);
    }

    [Fact]
    public async Task CollectIdleAsync_deactivates_activation_when_idle_longer_than_IdleDeactivationAge()
    {
        await using var silo = await TestSilo.StartAsync(NoBackgroundCollection);
        var grain = silo.Grains.GetGrain<ICounterGrain>("a");
        var first = await grain.ActivationId();

        silo.Time.Advance(TimeSpan.FromMinutes(14));
        Assert.Equal(0, await silo.Runtime.Directory.CollectIdleAsync().Within());
        silo.Time.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(1, await silo.Runtime.Directory.CollectIdleAsync().Within());

        Assert.Contains("deactivate:a:Idle", silo.Probe.Events);
        Assert.False(silo.Runtime.Directory.IsActive(CounterId("a")));
        var second = await grain.ActivationId().Within();
        Assert.NotEqual(first, second);
        Assert.Equal(2, silo.Probe.Count("activate:a"));
    }

    [Fact]
    public async Task CollectIdleAsync_keeps_activation_when_a_call_arrived_within_IdleDeactivationAge()
    {
        await using var silo = await TestSilo.StartAsync(NoBackgroundCollection);
        var grain = silo.Grains.GetGrain<ICounterGrain>("a");
        await grain.Increment();

        silo.Time.Advance(TimeSpan.FromMinutes(10));
        await grain.Increment();
        silo.Time.Advance(TimeSpan.FromMinutes(10));

        Assert.Equal(0, await silo.Runtime.Directory.CollectIdleAsync().Within());
        Assert.Equal(2, await grain.Get());
    }

    [Fact]
    public async Task RequestDeactivation_deactivates_after_current_turn_when_grain_calls_DeactivateOnIdle()
    {
        await using var silo = await TestSilo.StartAsync(NoBackgroundCollection);
        var grain = silo.Grains.GetGrain<ICounterGrain>("a");
        var first = await grain.ActivationId();

        await grain.Deactivate();
        await Eventually.TrueAsync(() => silo.Probe.Has("deactivate:a:Requested"), "requested deactivation");

        Assert.NotEqual(first, await grain.ActivationId().Within());
    }

    [Fact]
    public async Task GetOrActivate_evicts_least_recently_used_idle_activation_when_over_MaxActivations()
    {
        await using var silo = await TestSilo.StartAsync(o =>
        {
            NoBackgroundCollection(o);
            o.MaxActivations = 2;
        });
        await silo.Grains.GetGrain<ICounterGrain>("a").Increment();
        silo.Time.Advance(TimeSpan.FromSeconds(1));
        await silo.Grains.GetGrain<ICounterGrain>("b").Increment();
        silo.Time.Advance(TimeSpan.FromSeconds(1));
        await silo.Grains.GetGrain<ICounterGrain>("a").Increment();
        silo.Time.Advance(TimeSpan.FromSeconds(1));

        await silo.Grains.GetGrain<ICounterGrain>("c").Increment().Within();
        await Eventually.TrueAsync(() => silo.Runtime.Directory.Count <= 2, "eviction down to MaxActivations");

        Assert.Contains("deactivate:b:CapacityLimit", silo.Probe.Events);
        Assert.True(silo.Runtime.Directory.IsActive(CounterId("a")));
        Assert.True(silo.Runtime.Directory.IsActive(CounterId("c")));
        Assert.Equal(2, await silo.Grains.GetGrain<ICounterGrain>("a").Get());
    }

    [Fact]
    public async Task GetOrActivate_surfaces_GrainActivationException_then_retries_when_OnActivateAsync_throws()
    {
        await using var silo = await TestSilo.StartAsync(NoBackgroundCollection);
        silo.Probe.FailActivations = 1;
        var grain = silo.Grains.GetGrain<IFailingGrain>("f");

        var ex = await Assert.ThrowsAsync<GrainActivationException>(() => grain.Ping().Within());

        var inner = Assert.IsType<FormatException>(ex.InnerException);
        Assert.Equal("activation broke", inner.Message);
        Assert.Equal("f", ex.GrainId.Key);
        Assert.Equal("pong:f", await grain.Ping().Within());
        Assert.Equal(2, silo.Probe.Count("activate-attempt"));
    }

    [Fact]
    public async Task DeactivateAllAsync_runs_OnDeactivateAsync_and_refuses_new_activations_when_host_stops()
    {
        await using var silo = await TestSilo.StartAsync(NoBackgroundCollection);
        await silo.Grains.GetGrain<ICounterGrain>("a").Increment();
        await silo.Grains.GetGrain<ICounterGrain>("b").Increment();

        await silo.StopAsync();

        Assert.Contains("deactivate:a:ShuttingDown", silo.Probe.Events);
        Assert.Contains("deactivate:b:ShuttingDown", silo.Probe.Events);
        Assert.Equal(0, silo.Runtime.Directory.Count);
        var ex = await Assert.ThrowsAsync<ShardException>(() => silo.Grains.GetGrain<ICounterGrain>("c").Get().Within());
        Assert.Equal(ShardErrorCode.Retryable, ex.Code);
    }
}
