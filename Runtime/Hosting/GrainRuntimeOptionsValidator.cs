using Microsoft.Extensions.Options;

namespace OrleansShards.Runtime.Hosting;

internal sealed class GrainRuntimeOptionsValidator : IValidateOptions<GrainRuntimeOptions>, IValidateOptions<ReminderOptions>
{
    // Timers and timed CancellationTokenSources reject longer periods (uint.MaxValue - 1 ms, ~49.7 days)
    // at use, i.e. on every call; reject them once, at start.
    private static readonly TimeSpan MaxTimerSpan = TimeSpan.FromMilliseconds(uint.MaxValue - 1);

    public ValidateOptionsResult Validate(string? name, GrainRuntimeOptions options)
    {
        var failures = new List<string>();
        CheckSpan(failures, nameof(GrainRuntimeOptions.CallTimeout), options.CallTimeout);
        CheckSpan(failures, nameof(GrainRuntimeOptions.IdleDeactivationAge), options.IdleDeactivationAge);
        CheckSpan(failures, nameof(GrainRuntimeOptions.CollectionInterval), options.CollectionInterval);

        if (options.MaxActivations < 1)
        {
            failures.Add($"GrainRuntimeOptions.MaxActivations must be at least 1 (was {options.MaxActivations}).");
        }

        CheckSpan(failures, nameof(GrainRuntimeOptions.ActivationTimeout), options.ActivationTimeout);
        CheckSpan(failures, nameof(GrainRuntimeOptions.DeactivationTimeout), options.DeactivationTimeout);
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static void CheckSpan(List<string> failures, string option, TimeSpan value)
    {
        if (value <= TimeSpan.Zero || value > MaxTimerSpan)
        {
            failures.Add($"GrainRuntimeOptions.{option} must be positive and at most {MaxTimerSpan.TotalDays:0} days (was {value}).");
        }
    }

    public ValidateOptionsResult Validate(string? name, ReminderOptions options)
    {
        if (string.IsNullOrWhiteSpace(options.DatabasePath))
        {
            return ValidateOptionsResult.Fail("ReminderOptions.DatabasePath must name a file.");
        }

        return options.MinimumPeriod <= TimeSpan.Zero
            ? ValidateOptionsResult.Fail($"ReminderOptions.MinimumPeriod must be positive (was {options.MinimumPeriod}).")
            : ValidateOptionsResult.Success;
    }
}
