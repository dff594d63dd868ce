using Microsoft.Extensions.Options;

namespace OrleansShards.Grains.Caching;

internal sealed class ShardCacheOptionsValidator : IValidateOptions<ShardCacheOptions>
{
    public ValidateOptionsResult Validate(string? name, ShardCacheOptions options)
    {
        var failures = new List<string>();
        if (options.Ttl <= TimeSpan.Zero)
        {
            failures.Add($"ShardCacheOptions.Ttl must be positive (was {options.Ttl}).");
        }

        if (options.StaleWindow < TimeSpan.Zero)
        {
            failures.Add($"ShardCacheOptions.StaleWindow must not be negative (was {options.StaleWindow}).");
        }

        if (options.EntryLifetime < TimeSpan.FromSeconds(1))
        {
            // Tombstones live this long; a read slower than that could populate older state after its tombstone expired.
            failures.Add($"ShardCacheOptions.Ttl + StaleWindow must be at least 1 s (was {options.EntryLifetime}).");
        }

        if (string.IsNullOrWhiteSpace(options.StreamProvider))
        {
            failures.Add("ShardCacheOptions.StreamProvider must name a stream provider.");
        }

        if (options.InvalidationBatchSize < 1)
        {
            failures.Add($"ShardCacheOptions.InvalidationBatchSize must be at least 1 (was {options.InvalidationBatchSize}).");
        }

        if (options.HotKeys < 0)
        {
            failures.Add($"ShardCacheOptions.HotKeys must not be negative (was {options.HotKeys}).");
        }

        if (options.MaxEntryBytes < 64)
        {
            failures.Add($"ShardCacheOptions.MaxEntryBytes must be at least 64 (was {options.MaxEntryBytes}).");
        }

        if (options.MemoryMaxEntries < 1)
        {
            failures.Add($"ShardCacheOptions.MemoryMaxEntries must be at least 1 (was {options.MemoryMaxEntries}).");
        }

        if (options.PublishRetryDelay <= TimeSpan.Zero)
        {
            failures.Add($"ShardCacheOptions.PublishRetryDelay must be positive (was {options.PublishRetryDelay}).");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
