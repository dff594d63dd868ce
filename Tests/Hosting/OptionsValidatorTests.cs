using OrleansShards.Client;
using OrleansShards.Grains.Hosting;
using OrleansShards.Grains.Pitr;
using OrleansShards.Silo.Hosting;

namespace OrleansShards.Tests.Hosting;

/// <summary>
/// The generated ([OptionsValidator]) validators of the shard, PITR, silo, tenant-limit and client options: ranges from
/// data annotations (each edge as before), the rules that are not plain ranges from the options' own Validate.
/// </summary>
public sealed class OptionsValidatorTests
{
    [Fact]
    public void Every_generated_validator_accepts_the_defaults()
    {
        Assert.True(new TableShardOptionsValidator().Validate(null, new TableShardOptions()).Succeeded);
        Assert.True(new PitrOptionsValidator().Validate(null, new PitrOptions()).Succeeded);
        Assert.True(new TenantLimitOptionsValidator().Validate(null, new TenantLimitOptions()).Succeeded);
        Assert.True(new ShardsSiloOptionsValidator().Validate(null, new ShardsSiloOptions()).Succeeded);
        Assert.True(new ShardsClientOptionsValidator().Validate(null, new ShardsClientOptions()).Succeeded);
    }

    [Theory]
    [InlineData(nameof(TableShardOptions.DataDirectory), false)]
    [InlineData(nameof(TableShardOptions.MaxShardSizeBytes), false)]
    [InlineData(nameof(TableShardOptions.MaxShardSizeBytes), true)]
    [InlineData(nameof(TableShardOptions.CapacityCheckPeriod), false)]
    [InlineData(nameof(TableShardOptions.ReaderPoolSize), false)]
    [InlineData(nameof(TableShardOptions.ReaderPoolSize), true)]
    [InlineData(nameof(TableShardOptions.ReaderIdleTimeout), false)]
    [InlineData(nameof(TableShardOptions.ReaderIdleTimeout), true)]
    [InlineData(nameof(TableShardOptions.MaxOpenFiles), false)]
    [InlineData(nameof(TableShardOptions.MaxOpenFiles), true)]
    [InlineData(nameof(TableShardOptions.PlanCacheSize), false)]
    [InlineData(nameof(TableShardOptions.TransactionTimeout), false)]
    [InlineData(nameof(TableShardOptions.MinBookmarkWait), false)]
    [InlineData(nameof(TableShardOptions.MinBookmarkWait), true)]
    [InlineData(nameof(TableShardOptions.MaxResultRows), false)]
    [InlineData(nameof(TableShardOptions.MaxResultBytes), false)]
    [InlineData(nameof(TableShardOptions.MaxResultBytes), true)]
    [InlineData(nameof(TableShardOptions.MaxTransactionStatements), false)]
    [InlineData(nameof(TableShardOptions.IdempotencyWindow), false)]
    [InlineData(nameof(TableShardOptions.StatementTimeout), false)]
    [InlineData(nameof(TableShardOptions.WriteStatementTimeout), false)]
    [InlineData(nameof(TableShardOptions.MaxGroupCommitSize), false)]
    [InlineData(nameof(TableShardOptions.BusyRetryAttempts), false)]
    [InlineData(nameof(TableShardOptions.Synchronous), false)]
    [InlineData(nameof(TableShardOptions.Synchronous), true)]
    public void TableShardOptionsValidator_refuses_a_bad_value_naming_the_option_and_accepts_the_edge(string option, bool edge)
    {
        var o = new TableShardOptions();
        switch (option)
        {
            case nameof(o.DataDirectory): o.DataDirectory = " "; break;
            case nameof(o.MaxShardSizeBytes): o.MaxShardSizeBytes = edge ? 65536 : 65535; break;
            case nameof(o.CapacityCheckPeriod): o.CapacityCheckPeriod = TimeSpan.Zero; break;
            case nameof(o.ReaderPoolSize): o.ReaderPoolSize = edge ? 1 : 0; break;
            case nameof(o.ReaderIdleTimeout): o.ReaderIdleTimeout = edge ? TimeSpan.FromTicks(1) : TimeSpan.FromSeconds(-1); break;
            case nameof(o.MaxOpenFiles): o.MaxOpenFiles = edge ? 16 : 15; break;
            case nameof(o.PlanCacheSize): o.PlanCacheSize = 0; break;
            case nameof(o.TransactionTimeout): o.TransactionTimeout = TimeSpan.Zero; break;
            case nameof(o.MinBookmarkWait): o.MinBookmarkWait = edge ? TimeSpan.FromMinutes(1) : TimeSpan.FromMinutes(1) + TimeSpan.FromTicks(1); break;
            case nameof(o.MaxResultRows): o.MaxResultRows = 0; break;
            case nameof(o.MaxResultBytes): o.MaxResultBytes = edge ? 1024 : 1023; break;
            case nameof(o.MaxTransactionStatements): o.MaxTransactionStatements = 0; break;
            case nameof(o.IdempotencyWindow): o.IdempotencyWindow = TimeSpan.Zero; break;
            case nameof(o.StatementTimeout): o.StatementTimeout = TimeSpan.Zero; break;
            case nameof(o.WriteStatementTimeout): o.WriteStatementTimeout = TimeSpan.Zero; break;
            case nameof(o.MaxGroupCommitSize): o.MaxGroupCommitSize = 0; break;
            case nameof(o.BusyRetryAttempts): o.BusyRetryAttempts = 0; break;
            case nameof(o.Synchronous): o.Synchronous = edge ? "NORMAL" : "full"; break;
        }

        var result = new TableShardOptionsValidator().Validate(null, o);
        if (edge)
        {
            Assert.True(result.Succeeded, result.FailureMessage);
        }
        else
        {
            Assert.True(result.Failed);
            Assert.Contains("TableShardOptions." + option, result.FailureMessage, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData(-1, false)]
    [InlineData(1, false)]
    [InlineData(0, true)]
    [InlineData(16, true)]
    public void TableShardOptionsValidator_takes_MaxOpenFiles_of_0_or_at_least_16(int value, bool valid) =>
        Assert.Equal(valid, new TableShardOptionsValidator().Validate(null, new TableShardOptions { MaxOpenFiles = value }).Succeeded);

    [Theory]
    [InlineData(nameof(PitrOptions.SnapshotEveryCommits))]
    [InlineData(nameof(PitrOptions.SnapshotLogFraction))]
    [InlineData(nameof(PitrOptions.SnapshotInterval))]
    [InlineData(nameof(PitrOptions.RetentionPeriod))]
    public void PitrOptionsValidator_refuses_a_bad_value_naming_the_option(string option)
    {
        var o = new PitrOptions();
        switch (option)
        {
            case nameof(o.SnapshotEveryCommits): o.SnapshotEveryCommits = 0; break;
            case nameof(o.SnapshotLogFraction): o.SnapshotLogFraction = double.NegativeInfinity; break;
            case nameof(o.SnapshotInterval): o.SnapshotInterval = TimeSpan.Zero; break;
            case nameof(o.RetentionPeriod): o.RetentionPeriod = TimeSpan.FromDays(-1); break;
        }

        var result = new PitrOptionsValidator().Validate(null, o);
        Assert.True(result.Failed);
        Assert.Contains("PitrOptions." + option, result.FailureMessage, StringComparison.Ordinal);
        Assert.True(new PitrOptionsValidator().Validate(null, new PitrOptions
        {
            SnapshotEveryCommits = 1, SnapshotLogFraction = 1e300, SnapshotInterval = TimeSpan.FromTicks(1), RetentionPeriod = TimeSpan.FromTicks(1),
        }).Succeeded);
    }

    [Theory]
    [InlineData(nameof(TenantLimitOptions.MaxConcurrentRequestsPerTenant))]
    [InlineData(nameof(TenantLimitOptions.MaxConcurrentQueriesPerTenant))]
    [InlineData(nameof(TenantLimitOptions.RequestsPerWindow))]
    [InlineData(nameof(TenantLimitOptions.RequestRateWindow))]
    [InlineData(nameof(TenantLimitOptions.RequestBurst))]
    [InlineData(nameof(TenantLimitOptions.MaxTenantStorageBytes))]
    [InlineData(nameof(TenantLimitOptions.StorageUsageRefresh))]
    public void TenantLimitOptionsValidator_refuses_a_bad_value_naming_the_option(string option)
    {
        var o = new TenantLimitOptions();
        switch (option)
        {
            case nameof(o.MaxConcurrentRequestsPerTenant): o.MaxConcurrentRequestsPerTenant = -1; break;
            case nameof(o.MaxConcurrentQueriesPerTenant): o.MaxConcurrentQueriesPerTenant = -1; break;
            case nameof(o.RequestsPerWindow): o.RequestsPerWindow = -1; break;
            case nameof(o.RequestRateWindow): o.RequestRateWindow = TimeSpan.Zero; break;
            case nameof(o.RequestBurst): o.RequestBurst = 0; break;
            case nameof(o.MaxTenantStorageBytes): o.MaxTenantStorageBytes = -1; break;
            case nameof(o.StorageUsageRefresh): o.StorageUsageRefresh = TimeSpan.FromTicks(-1); break;
        }

        var result = new TenantLimitOptionsValidator().Validate(null, o);
        Assert.True(result.Failed);
        Assert.Contains(option, result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void TenantLimitOptionsValidator_accepts_zero_for_every_limit_and_ignores_the_rate_settings_without_a_rate_limit()
    {
        var off = new TenantLimitOptions
        {
            MaxConcurrentRequestsPerTenant = 0, MaxConcurrentQueriesPerTenant = 0, RequestsPerWindow = 0,
            RequestRateWindow = TimeSpan.Zero, RequestBurst = 0, MaxTenantStorageBytes = 0, StorageUsageRefresh = TimeSpan.Zero,
        };
        Assert.True(new TenantLimitOptionsValidator().Validate(null, off).Succeeded);
    }

    [Theory]
    [InlineData("DataDirectory", "Shards:DataDirectory must name a directory")]
    [InlineData("MaxRequestBodyBytes", "ShardsSiloOptions.MaxRequestBodyBytes must be between 1 and")]
    [InlineData("MaxConcurrentRequests", "ShardsSiloOptions.MaxConcurrentRequests must be between 1 and")]
    [InlineData("MaxShardSizeGb", "Shards:MaxShardSizeGb (or MAX_SHARD_SIZE_GB) must be a positive number")]
    [InlineData("MaxShardSizeBytes", "Shards:MaxShardSizeBytes must be positive")]
    [InlineData("ApiKeys", "Shards:ApiKeys:0:Key must be at least 16 characters")]
    [InlineData("OperatorKeys", "Shards:OperatorKeys:0 must set exactly one of KeySha256 and Key")]
    public void ShardsSiloOptionsValidator_refuses_a_bad_value_naming_the_configuration_key(string option, string message)
    {
        var o = new ShardsSiloOptions();
        switch (option)
        {
            case "DataDirectory": o.DataDirectory = ""; break;
            case "MaxRequestBodyBytes": o.MaxRequestBodyBytes = 0; break;
            case "MaxConcurrentRequests": o.MaxConcurrentRequests = 0; break;
            case "MaxShardSizeGb": o.MaxShardSizeGb = double.NaN; break;
            case "MaxShardSizeBytes": o.MaxShardSizeBytes = 0; break;
            case "ApiKeys": o.ApiKeys.Add(new ApiKeyOptions { Tenant = "t1", Key = "short" }); break;
            case "OperatorKeys": o.OperatorKeys.Add(new OperatorKeyOptions()); break;
        }

        var result = new ShardsSiloOptionsValidator().Validate(null, o);
        Assert.True(result.Failed);
        Assert.Contains(message, result.FailureMessage, StringComparison.Ordinal);
        Assert.True(new ShardsSiloOptionsValidator().Validate(null, new ShardsSiloOptions { MaxRequestBodyBytes = 1, MaxConcurrentRequests = 1, MaxShardSizeBytes = 1 }).Succeeded);
    }

    [Fact]
    public void ShardsSiloOptionsValidator_refuses_one_key_for_two_tenants_or_for_a_tenant_and_the_operator()
    {
        const string Shared = "0123456789abcdefXX";
        var hashOfShared = Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(Shared))).ToLowerInvariant();

        var twoTenants = new ShardsSiloOptions();
        twoTenants.ApiKeys.Add(new ApiKeyOptions { Tenant = "acme", Key = Shared });
        twoTenants.ApiKeys.Add(new ApiKeyOptions { Tenant = "beta", KeySha256 = hashOfShared });
        var result = new ShardsSiloOptionsValidator().Validate(null, twoTenants);
        Assert.True(result.Failed);
        Assert.Contains("Shards:ApiKeys:1 is the same key as one of tenant acme", result.FailureMessage, StringComparison.Ordinal);

        var tenantAndOperator = new ShardsSiloOptions();
        tenantAndOperator.ApiKeys.Add(new ApiKeyOptions { Tenant = "acme", Key = Shared });
        tenantAndOperator.OperatorKeys.Add(new OperatorKeyOptions { Key = Shared });
        result = new ShardsSiloOptionsValidator().Validate(null, tenantAndOperator);
        Assert.True(result.Failed);
        Assert.Contains("Shards:OperatorKeys:0 is the same key as one of tenant acme", result.FailureMessage, StringComparison.Ordinal);

        // The same key twice for one tenant is harmless.
        var twice = new ShardsSiloOptions();
        twice.ApiKeys.Add(new ApiKeyOptions { Tenant = "acme", Key = Shared });
        twice.ApiKeys.Add(new ApiKeyOptions { Tenant = "acme", KeySha256 = hashOfShared });
        Assert.True(new ShardsSiloOptionsValidator().Validate(null, twice).Succeeded);
    }

    [Theory]
    [InlineData(-1, false)]
    [InlineData(0, true)]
    [InlineData(20, true)]
    [InlineData(21, false)]
    public void ShardsClientOptionsValidator_takes_MaxRetries_from_0_to_20(int retries, bool valid)
    {
        var result = new ShardsClientOptionsValidator().Validate(null, new ShardsClientOptions { MaxRetries = retries });
        Assert.Equal(valid, result.Succeeded);
        if (!valid)
        {
            Assert.Contains("ShardsClientOptions.MaxRetries", result.FailureMessage, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void ShardsClientOptionsValidator_refuses_a_negative_base_delay_a_maximum_below_it_and_no_http_version()
    {
        var negative = new ShardsClientOptionsValidator().Validate(null, new ShardsClientOptions { RetryBaseDelay = TimeSpan.FromTicks(-1), MaxRetryDelay = TimeSpan.Zero });
        Assert.Contains("ShardsClientOptions.RetryBaseDelay", negative.FailureMessage, StringComparison.Ordinal);
        var inverted = new ShardsClientOptionsValidator().Validate(null, new ShardsClientOptions { RetryBaseDelay = TimeSpan.FromSeconds(2), MaxRetryDelay = TimeSpan.FromSeconds(1) });
        Assert.Contains("ShardsClientOptions.MaxRetryDelay must be at least RetryBaseDelay", inverted.FailureMessage, StringComparison.Ordinal);
        var noVersion = new ShardsClientOptionsValidator().Validate(null, new ShardsClientOptions { HttpVersion = null! });
        Assert.Contains("ShardsClientOptions.HttpVersion", noVersion.FailureMessage, StringComparison.Ordinal);
        Assert.True(new ShardsClientOptionsValidator().Validate(null, new ShardsClientOptions
        {
            RetryBaseDelay = TimeSpan.Zero, MaxRetryDelay = TimeSpan.Zero, Timeout = System.Threading.Timeout.InfiniteTimeSpan,
        }).Succeeded);
    }
}
