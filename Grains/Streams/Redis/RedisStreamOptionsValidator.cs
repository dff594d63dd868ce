using Microsoft.Extensions.DependencyInjection;
using Orleans;
using Orleans.Configuration;
using Orleans.Runtime;
using StackExchange.Redis;

namespace OrleansShards.Grains.Streams.Redis;

/// <summary>Fails silo start when the <see cref="RedisStreamOptions"/> of a provider are invalid, naming the option.</summary>
internal sealed class RedisStreamOptionsValidator(RedisStreamOptions options, string providerName, bool sharedConnection) : IConfigurationValidator
{
    public static IConfigurationValidator Create(IServiceProvider services, string name) => new RedisStreamOptionsValidator(
        services.GetOptionsByName<RedisStreamOptions>(name),
        name,
        services.GetService<IConnectionMultiplexer>() is not null);

    public static List<string> Validate(RedisStreamOptions options, bool sharedConnection)
    {
        var failures = new List<string>();
        Require(sharedConnection || !string.IsNullOrWhiteSpace(options.Configuration), "Configuration must name a Redis endpoint when no IConnectionMultiplexer is registered");
        Require(!string.IsNullOrWhiteSpace(options.KeyPrefix), "KeyPrefix must not be empty");
        Require(!string.IsNullOrWhiteSpace(options.ConsumerGroup), "ConsumerGroup must not be empty");
        Require(!string.IsNullOrWhiteSpace(options.ConsumerName), "ConsumerName must not be empty");
        Require(options.Queues is >= 1 and <= 1024, $"Queues must be in [1, 1024] (was {options.Queues})");
        Require(options.MaxLength >= 100, $"MaxLength must be at least 100 (was {options.MaxLength})");
        Require(options.BatchSize >= 1, $"BatchSize must be at least 1 (was {options.BatchSize})");
        Require(options.ClaimIdle > TimeSpan.Zero, $"ClaimIdle must be positive (was {options.ClaimIdle})");
        Require(options.ClaimInterval > TimeSpan.Zero, $"ClaimInterval must be positive (was {options.ClaimInterval})");
        Require(options.OperationTimeout > TimeSpan.Zero, $"OperationTimeout must be positive (was {options.OperationTimeout})");
        return failures;

        void Require(bool condition, string message)
        {
            if (!condition)
            {
                failures.Add($"{nameof(RedisStreamOptions)}.{message}.");
            }
        }
    }

    /// <summary>Throws <see cref="OrleansConfigurationException"/> listing every invalid option.</summary>
    public static void ThrowIfInvalid(RedisStreamOptions options, string providerName, bool sharedConnection)
    {
        var failures = Validate(options, sharedConnection);
        if (failures.Count > 0)
        {
            throw new OrleansConfigurationException($"Redis stream provider '{providerName}': {string.Join(" ", failures)}");
        }
    }

    public void ValidateConfiguration() => ThrowIfInvalid(options, providerName, sharedConnection);
}
