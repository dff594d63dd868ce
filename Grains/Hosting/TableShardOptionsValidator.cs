using Microsoft.Extensions.Options;

namespace OrleansShards.Grains.Hosting;

internal sealed class TableShardOptionsValidator : IValidateOptions<TableShardOptions>
{
    public ValidateOptionsResult Validate(string? name, TableShardOptions options)
    {
        var failures = new List<string>();
        if (string.IsNullOrWhiteSpace(options.DataDirectory))
        {
            failures.Add("TableShardOptions.DataDirectory must name a directory.");
        }

        if (options.MaxShardSizeBytes < 64 * 1024)
        {
            failures.Add($"TableShardOptions.MaxShardSizeBytes must be at least 65536 (was {options.MaxShardSizeBytes}).");
        }

        Positive(options.CapacityCheckPeriod, nameof(options.CapacityCheckPeriod));
        Positive(options.TransactionTimeout, nameof(options.TransactionTimeout));
        Positive(options.IdempotencyWindow, nameof(options.IdempotencyWindow));
        Positive(options.StatementTimeout, nameof(options.StatementTimeout));
        Positive(options.WriteStatementTimeout, nameof(options.WriteStatementTimeout));
        Positive(options.ReaderIdleTimeout, nameof(options.ReaderIdleTimeout));
        if (options.MaxOpenFiles is < 0 or (> 0 and < 16))
        {
            failures.Add($"TableShardOptions.MaxOpenFiles must be 0 (automatic) or at least 16 (was {options.MaxOpenFiles}).");
        }
        if (options.MaxResultRows < 1)
        {
            failures.Add($"TableShardOptions.MaxResultRows must be at least 1 (was {options.MaxResultRows}).");
        }

        if (options.MaxResultBytes < 1024)
        {
            failures.Add($"TableShardOptions.MaxResultBytes must be at least 1024 (was {options.MaxResultBytes}).");
        }

        if (options.MinBookmarkWait < TimeSpan.Zero || options.MinBookmarkWait > TimeSpan.FromMinutes(1))
        {
            failures.Add($"TableShardOptions.MinBookmarkWait must be between 0 and 1 minute (was {options.MinBookmarkWait}).");
        }

        AtLeastOne(options.ReaderPoolSize, nameof(options.ReaderPoolSize));
        AtLeastOne(options.PlanCacheSize, nameof(options.PlanCacheSize));
        AtLeastOne(options.MaxTransactionStatements, nameof(options.MaxTransactionStatements));
        AtLeastOne(options.MaxGroupCommitSize, nameof(options.MaxGroupCommitSize));
        AtLeastOne(options.BusyRetryAttempts, nameof(options.BusyRetryAttempts));
        if (options.Synchronous is not ("FULL" or "NORMAL" or "EXTRA"))
        {
            failures.Add($"TableShardOptions.Synchronous must be FULL, EXTRA or NORMAL (was '{options.Synchronous}').");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);

        void Positive(TimeSpan value, string option)
        {
            if (value <= TimeSpan.Zero)
            {
                failures.Add($"TableShardOptions.{option} must be positive (was {value}).");
            }
        }

        void AtLeastOne(int value, string option)
        {
            if (value < 1)
            {
                failures.Add($"TableShardOptions.{option} must be at least 1 (was {value}).");
            }
        }
    }
}
