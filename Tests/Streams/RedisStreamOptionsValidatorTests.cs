using OrleansShards.Grains.Streams.Redis;

namespace OrleansShards.Tests.Streams;

/// <summary>Validation of <see cref="RedisStreamOptions"/>.</summary>
public sealed class RedisStreamOptionsValidatorTests
{
    [Fact]
    public void Defaults_are_valid()
    {
        var options = new RedisStreamOptions();

        Assert.Empty(RedisStreamOptionsValidator.Validate(options, sharedConnection: false));
        Assert.Equal("orleansshards:streams", options.KeyPrefix);
        Assert.Equal(8, options.Queues);
        Assert.Equal("silo", options.ConsumerGroup);
        Assert.Equal(Environment.MachineName, options.ConsumerName);
        Assert.Equal(100_000, options.MaxLength);
        Assert.Equal(128, options.BatchSize);
        Assert.Equal(TimeSpan.FromSeconds(30), options.ClaimIdle);
        Assert.Equal(TimeSpan.FromSeconds(2), options.OperationTimeout);
    }

    [Fact]
    public void Every_invalid_option_is_named()
    {
        var options = new RedisStreamOptions
        {
            Configuration = "",
            KeyPrefix = " ",
            Queues = 0,
            ConsumerGroup = "",
            ConsumerName = "",
            MaxLength = 10,
            BatchSize = 0,
            ClaimIdle = TimeSpan.Zero,
            ClaimInterval = TimeSpan.Zero,
            OperationTimeout = TimeSpan.Zero,
        };

        var failures = RedisStreamOptionsValidator.Validate(options, sharedConnection: false);

        foreach (var name in new[] { "Configuration", "KeyPrefix", "Queues", "ConsumerGroup", "ConsumerName", "MaxLength", "BatchSize", "ClaimIdle", "ClaimInterval", "OperationTimeout" })
        {
            Assert.Contains(failures, f => f.StartsWith($"RedisStreamOptions.{name} ", StringComparison.Ordinal));
        }

        Assert.Equal(10, failures.Count);
    }

    [Fact]
    public void Configuration_may_be_empty_when_a_connection_is_shared()
    {
        var options = new RedisStreamOptions { Configuration = "" };

        Assert.Empty(RedisStreamOptionsValidator.Validate(options, sharedConnection: true));
        Assert.Throws<Orleans.Runtime.OrleansConfigurationException>(() => RedisStreamOptionsValidator.ThrowIfInvalid(options, "p", sharedConnection: false));
    }
}
