using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using OrleansShards.Runtime;
using OrleansShards.Tests.Infrastructure;

namespace OrleansShards.Tests.Runtime;

/// <summary>Invalid options fail the host at start with a message naming the option.</summary>
public sealed class GrainRuntimeOptionsValidatorTests
{
    [Theory]
    [InlineData("CallTimeout")]
    [InlineData("IdleDeactivationAge")]
    [InlineData("CollectionInterval")]
    [InlineData("ActivationTimeout")]
    [InlineData("DeactivationTimeout")]
    public async Task Validate_fails_host_start_naming_option_when_time_span_is_zero(string option)
    {
        using var dir = new TempDirectory("options");
        using var host = TestSilo.Build(dir.Path, new FakeTimeProvider(), new Probe(), o =>
            typeof(GrainRuntimeOptions).GetProperty(option)!.SetValue(o, TimeSpan.Zero));

        var ex = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync().Within());

        Assert.Contains("GrainRuntimeOptions." + option, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Validate_fails_host_start_when_CallTimeout_exceeds_timer_limit()
    {
        using var dir = new TempDirectory("options");
        using var host = TestSilo.Build(dir.Path, new FakeTimeProvider(), new Probe(), o => o.CallTimeout = TimeSpan.FromDays(60));

        var ex = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync().Within());

        Assert.Contains("GrainRuntimeOptions.CallTimeout", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Validate_fails_host_start_naming_option_when_MaxActivations_is_zero()
    {
        using var dir = new TempDirectory("options");
        using var host = TestSilo.Build(dir.Path, new FakeTimeProvider(), new Probe(), o => o.MaxActivations = 0);

        var ex = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync().Within());

        Assert.Contains("GrainRuntimeOptions.MaxActivations", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Validate_fails_host_start_naming_option_when_reminder_MinimumPeriod_is_zero()
    {
        using var dir = new TempDirectory("options");
        using var host = TestSilo.Build(dir.Path, new FakeTimeProvider(), new Probe(), reminders: r => r.MinimumPeriod = TimeSpan.Zero);

        var ex = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync().Within());

        Assert.Contains("ReminderOptions.MinimumPeriod", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Validate_lets_host_start_when_options_are_defaults()
    {
        using var dir = new TempDirectory("options");
        using var host = TestSilo.Build(dir.Path, new FakeTimeProvider(), new Probe());

        await host.StartAsync().Within();

        Assert.Equal(0, await host.Services.GetRequiredService<IGrainFactory>().GetGrain<Grains.ICounterGrain>("ok").Get().Within());
        await host.StopAsync().Within();
    }
}
