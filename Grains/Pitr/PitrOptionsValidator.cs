using Microsoft.Extensions.Options;

namespace OrleansShards.Grains.Pitr;

internal sealed class PitrOptionsValidator : IValidateOptions<PitrOptions>
{
    public ValidateOptionsResult Validate(string? name, PitrOptions options)
    {
        var failures = new List<string>();
        if (options.SnapshotEveryCommits < 1)
        {
            failures.Add($"PitrOptions.SnapshotEveryCommits must be at least 1 (was {options.SnapshotEveryCommits}).");
        }

        if (!(options.SnapshotLogFraction >= 0) || double.IsInfinity(options.SnapshotLogFraction))
        {
            failures.Add($"PitrOptions.SnapshotLogFraction must be a finite number, 0 or more (was {options.SnapshotLogFraction}).");
        }

        if (options.SnapshotInterval <= TimeSpan.Zero)
        {
            failures.Add($"PitrOptions.SnapshotInterval must be positive (was {options.SnapshotInterval}).");
        }

        if (options.RetentionPeriod <= TimeSpan.Zero)
        {
            failures.Add($"PitrOptions.RetentionPeriod must be positive (was {options.RetentionPeriod}).");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
