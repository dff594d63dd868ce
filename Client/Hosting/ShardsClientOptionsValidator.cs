using Microsoft.Extensions.Options;

namespace OrleansShards.Client;

/// <summary>Fails at start (or first use) when a <see cref="ShardsClientOptions"/> value is invalid, naming the option.</summary>
internal sealed class ShardsClientOptionsValidator : IValidateOptions<ShardsClientOptions>
{
    public ValidateOptionsResult Validate(string? name, ShardsClientOptions options)
    {
        var failures = Check(options);
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    internal static List<string> Check(ShardsClientOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        if (options.Endpoints is not { Count: > 0 })
        {
            failures.Add("ShardsClientOptions.Endpoints must hold at least one silo address.");
        }
        else
        {
            foreach (var endpoint in options.Endpoints)
            {
                if (endpoint is null || !endpoint.IsAbsoluteUri
                    || (endpoint.Scheme != Uri.UriSchemeHttp && endpoint.Scheme != Uri.UriSchemeHttps)
                    || !string.IsNullOrEmpty(endpoint.Query) || !string.IsNullOrEmpty(endpoint.Fragment))
                {
                    failures.Add($"ShardsClientOptions.Endpoints: '{endpoint}' must be an absolute http:// or https:// address without query or fragment.");
                }
            }
        }

        if (options.ApiKey is { } key && (key.Length == 0 || key.Any(char.IsWhiteSpace)))
        {
            failures.Add("ShardsClientOptions.ApiKey must be null or a key without whitespace.");
        }

        if (options.Timeout <= TimeSpan.Zero && options.Timeout != System.Threading.Timeout.InfiniteTimeSpan)
        {
            failures.Add($"ShardsClientOptions.Timeout must be positive or Timeout.InfiniteTimeSpan (was {options.Timeout}).");
        }

        if (options.OperationTimeout <= TimeSpan.Zero && options.OperationTimeout != System.Threading.Timeout.InfiniteTimeSpan)
        {
            failures.Add($"ShardsClientOptions.OperationTimeout must be positive or Timeout.InfiniteTimeSpan (was {options.OperationTimeout}).");
        }

        if (options.MaxRetries is < 0 or > 20)
        {
            failures.Add($"ShardsClientOptions.MaxRetries must be between 0 and 20 (was {options.MaxRetries}).");
        }

        if (options.RetryBaseDelay < TimeSpan.Zero)
        {
            failures.Add($"ShardsClientOptions.RetryBaseDelay must not be negative (was {options.RetryBaseDelay}).");
        }

        if (options.MaxRetryDelay < options.RetryBaseDelay)
        {
            failures.Add($"ShardsClientOptions.MaxRetryDelay must be at least RetryBaseDelay (was {options.MaxRetryDelay}).");
        }

        if (options.HttpVersion is null)
        {
            failures.Add("ShardsClientOptions.HttpVersion must be set.");
        }

        return failures;
    }
}
