using System.Globalization;
using Microsoft.Extensions.Options;

namespace OrleansShards.Silo.Hosting;

/// <summary>Fails the host at start when a <see cref="ShardsSiloOptions"/> value is invalid, naming the option.</summary>
internal sealed class ShardsSiloOptionsValidator : IValidateOptions<ShardsSiloOptions>
{
    internal const int MinimumKeyLength = 16;

    public ValidateOptionsResult Validate(string? name, ShardsSiloOptions options)
    {
        var failures = new List<string>();
        if (string.IsNullOrWhiteSpace(options.DataDirectory))
        {
            failures.Add("Shards:DataDirectory must name a directory.");
        }

        if (options.MaxShardSizeBytes is { } bytes)
        {
            if (bytes <= 0)
            {
                failures.Add($"Shards:MaxShardSizeBytes must be positive (was {bytes}).");
            }
        }
        else if (!(options.MaxShardSizeGb > 0) || double.IsInfinity(options.MaxShardSizeGb))
        {
            failures.Add($"Shards:MaxShardSizeGb (or MAX_SHARD_SIZE_GB) must be a positive number (was {options.MaxShardSizeGb.ToString(CultureInfo.InvariantCulture)}).");
        }

        if (options.MaxRequestBodyBytes <= 0)
        {
            failures.Add($"Shards:MaxRequestBodyBytes must be positive (was {options.MaxRequestBodyBytes}).");
        }

        if (options.MaxConcurrentRequests < 1)
        {
            failures.Add($"Shards:MaxConcurrentRequests must be at least 1 (was {options.MaxConcurrentRequests}).");
        }

        for (var i = 0; i < options.ApiKeys.Count; i++)
        {
            var key = options.ApiKeys[i];
            if (!ShardName.IsValid(key.Tenant))
            {
                failures.Add($"Shards:ApiKeys:{i}:Tenant must be 1-{ShardName.MaxLength} characters of [A-Za-z0-9_].");
            }

            var hasHash = !string.IsNullOrEmpty(key.KeySha256);
            var hasKey = !string.IsNullOrEmpty(key.Key);
            if (hasHash == hasKey)
            {
                failures.Add($"Shards:ApiKeys:{i} must set exactly one of KeySha256 and Key.");
            }
            else if (hasHash && !IsSha256Hex(key.KeySha256!))
            {
                failures.Add($"Shards:ApiKeys:{i}:KeySha256 must be 64 hex digits (the SHA-256 of the key).");
            }
            else if (hasKey && key.Key!.Length < MinimumKeyLength)
            {
                failures.Add($"Shards:ApiKeys:{i}:Key must be at least {MinimumKeyLength} characters.");
            }
        }

        for (var i = 0; i < options.OperatorKeys.Count; i++)
        {
            var key = options.OperatorKeys[i];
            var hasHash = !string.IsNullOrEmpty(key.KeySha256);
            var hasKey = !string.IsNullOrEmpty(key.Key);
            if (hasHash == hasKey)
            {
                failures.Add($"Shards:OperatorKeys:{i} must set exactly one of KeySha256 and Key.");
            }
            else if (hasHash && !IsSha256Hex(key.KeySha256!))
            {
                failures.Add($"Shards:OperatorKeys:{i}:KeySha256 must be 64 hex digits (the SHA-256 of the key).");
            }
            else if (hasKey && key.Key!.Length < MinimumKeyLength)
            {
                failures.Add($"Shards:OperatorKeys:{i}:Key must be at least {MinimumKeyLength} characters.");
            }
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static bool IsSha256Hex(string text)
    {
        if (text.Length != 64)
        {
            return false;
        }

        foreach (var c in text)
        {
            if (!char.IsAsciiHexDigit(c))
            {
                return false;
            }
        }

        return true;
    }
}
