using Microsoft.Extensions.Options;

namespace OrleansShards.Runtime.Hosting;

internal sealed class GrainRuntimeOptionsValidator : IValidateOptions<GrainRuntimeOptions>, IValidateOptions<ReminderOptions>
{
    public ValidateOptionsResult Validate(string? name, GrainRuntimeOptions options)
    {
        var failures = new List<string>();
        if (options.CallTimeout <= TimeSpan.Zero)
        {
            failures.Add($"GrainRuntimeOptions.CallTimeout must be positive (was {options.CallTimeout}).");
        }

        if (options.IdleDeactivationAge <= TimeSpan.Zero)
        {
            failures.Add($"GrainRuntimeOptions.IdleDeactivationAge must be positive (was {options.IdleDeactivationAge}).");
        }

        if (options.CollectionInterval <= TimeSpan.Zero)
        {
            failures.Add($"GrainRuntimeOptions.CollectionInterval must be positive (was {options.CollectionInterval}).");
        }

        if (options.MaxActivations < 1)
        {
            failures.Add($"GrainRuntimeOptions.MaxActivations must be at least 1 (was {options.MaxActivations}).");
        }

        if (options.ActivationTimeout <= TimeSpan.Zero || options.DeactivationTimeout <= TimeSpan.Zero)
        {
            failures.Add("GrainRuntimeOptions.ActivationTimeout and DeactivationTimeout must be positive.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
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
