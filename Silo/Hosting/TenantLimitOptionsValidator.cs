using Microsoft.Extensions.Options;

namespace OrleansShards.Silo.Hosting;

/// <summary>Fails the host at start when a <see cref="TenantLimitOptions"/> value is invalid, naming the option.</summary>
internal sealed class TenantLimitOptionsValidator : IValidateOptions<TenantLimitOptions>
{
    public ValidateOptionsResult Validate(string? name, TenantLimitOptions options)
    {
        const string Section = TenantLimitOptions.SectionName;
        var failures = new List<string>();
        if (options.MaxConcurrentRequestsPerTenant < 0)
        {
            failures.Add($"{Section}:MaxConcurrentRequestsPerTenant must be 0 (no limit) or positive (was {options.MaxConcurrentRequestsPerTenant}).");
        }

        if (options.MaxConcurrentQueriesPerTenant < 0)
        {
            failures.Add($"{Section}:MaxConcurrentQueriesPerTenant must be 0 (no limit) or positive (was {options.MaxConcurrentQueriesPerTenant}).");
        }

        if (options.RequestsPerWindow < 0)
        {
            failures.Add($"{Section}:RequestsPerWindow must be 0 (no limit) or positive (was {options.RequestsPerWindow}).");
        }

        if (options.RequestsPerWindow > 0)
        {
            if (options.RequestRateWindow <= TimeSpan.Zero)
            {
                failures.Add($"{Section}:RequestRateWindow must be positive (was {options.RequestRateWindow}).");
            }

            if (options.RequestBurst < 1)
            {
                failures.Add($"{Section}:RequestBurst must be at least 1 (was {options.RequestBurst}).");
            }
        }

        if (options.MaxTenantStorageBytes < 0)
        {
            failures.Add($"{Section}:MaxTenantStorageBytes must be 0 (no quota) or positive (was {options.MaxTenantStorageBytes}).");
        }

        if (options.StorageUsageRefresh < TimeSpan.Zero)
        {
            failures.Add($"{Section}:StorageUsageRefresh must not be negative (was {options.StorageUsageRefresh}).");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
