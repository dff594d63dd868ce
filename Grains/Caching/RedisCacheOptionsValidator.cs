using Microsoft.Extensions.Options;

namespace OrleansShards.Grains.Caching;

internal sealed class RedisCacheOptionsValidator : IValidateOptions<RedisCacheOptions>
{
    public ValidateOptionsResult Validate(string? name, RedisCacheOptions options)
    {
        var failures = new List<string>();
        if (string.IsNullOrWhiteSpace(options.Configuration))
        {
            failures.Add("RedisCacheOptions.Configuration must name a Redis endpoint (e.g. 127.0.0.1:6379).");
        }

        if (options.OperationTimeout <= TimeSpan.Zero || options.OperationTimeout > TimeSpan.FromSeconds(30))
        {
            failures.Add($"RedisCacheOptions.OperationTimeout must be in (0, 30 s] (was {options.OperationTimeout}).");
        }

        if (options.BreakDuration <= TimeSpan.Zero)
        {
            failures.Add($"RedisCacheOptions.BreakDuration must be positive (was {options.BreakDuration}).");
        }

        if (options.ConnectTimeout <= TimeSpan.Zero)
        {
            failures.Add($"RedisCacheOptions.ConnectTimeout must be positive (was {options.ConnectTimeout}).");
        }

        if (options.ScanPageSize < 10)
        {
            failures.Add($"RedisCacheOptions.ScanPageSize must be at least 10 (was {options.ScanPageSize}).");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
