using OrleansShards.Grains.Caching;

namespace OrleansShards.Tests.Caching;

/// <summary>The generated ([OptionsValidator]) validators of the cache options: ranges from data annotations, the cross-field rule from the options.</summary>
public sealed class CacheOptionsValidatorTests
{
    [Fact]
    public void ShardCacheOptionsValidator_accepts_the_defaults() =>
        Assert.True(new ShardCacheOptionsValidator().Validate(null, new ShardCacheOptions()).Succeeded);

    [Theory]
    [InlineData(nameof(ShardCacheOptions.Ttl))]
    [InlineData(nameof(ShardCacheOptions.StaleWindow))]
    [InlineData(nameof(ShardCacheOptions.StreamProvider))]
    [InlineData(nameof(ShardCacheOptions.InvalidationBatchSize))]
    [InlineData(nameof(ShardCacheOptions.HotKeys))]
    [InlineData(nameof(ShardCacheOptions.MaxEntryBytes))]
    [InlineData(nameof(ShardCacheOptions.MemoryMaxEntries))]
    [InlineData(nameof(ShardCacheOptions.PublishRetryDelay))]
    public void ShardCacheOptionsValidator_rejects_a_value_out_of_range_naming_the_option(string option)
    {
        var options = new ShardCacheOptions();
        switch (option)
        {
            case nameof(ShardCacheOptions.Ttl): options.Ttl = TimeSpan.Zero; break;
            case nameof(ShardCacheOptions.StaleWindow): options.StaleWindow = TimeSpan.FromSeconds(-1); break;
            case nameof(ShardCacheOptions.StreamProvider): options.StreamProvider = " "; break;
            case nameof(ShardCacheOptions.InvalidationBatchSize): options.InvalidationBatchSize = 0; break;
            case nameof(ShardCacheOptions.HotKeys): options.HotKeys = -1; break;
            case nameof(ShardCacheOptions.MaxEntryBytes): options.MaxEntryBytes = 63; break;
            case nameof(ShardCacheOptions.MemoryMaxEntries): options.MemoryMaxEntries = 0; break;
            case nameof(ShardCacheOptions.PublishRetryDelay): options.PublishRetryDelay = TimeSpan.Zero; break;
        }

        var result = new ShardCacheOptionsValidator().Validate(null, options);
        Assert.True(result.Failed);
        Assert.Contains(option, result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void ShardCacheOptionsValidator_rejects_entries_living_less_than_a_second()
    {
        var result = new ShardCacheOptionsValidator().Validate(null, new ShardCacheOptions { Ttl = TimeSpan.FromMilliseconds(100), StaleWindow = TimeSpan.FromMilliseconds(100) });
        Assert.True(result.Failed);
        Assert.Contains("Ttl + StaleWindow must be at least 1 s", result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void RedisCacheOptionsValidator_rejects_an_operation_timeout_over_30_s_and_an_empty_configuration()
    {
        Assert.True(new RedisCacheOptionsValidator().Validate(null, new RedisCacheOptions()).Succeeded);
        var result = new RedisCacheOptionsValidator().Validate(null, new RedisCacheOptions { OperationTimeout = TimeSpan.FromSeconds(31), Configuration = "" });
        Assert.True(result.Failed);
        Assert.Contains(nameof(RedisCacheOptions.OperationTimeout), result.FailureMessage, StringComparison.Ordinal);
        Assert.Contains(nameof(RedisCacheOptions.Configuration), result.FailureMessage, StringComparison.Ordinal);
    }
}
