namespace OrleansShards.Runtime.Streams.Redis;

internal static class RedisStreamOptionsValidator
{
    public static List<string> Validate(RedisStreamOptions options)
    {
        var failures = new List<string>();
        Require(!string.IsNullOrWhiteSpace(options.Configuration), "RedisStreamOptions.Configuration must name a Redis endpoint.");
        Require(!string.IsNullOrWhiteSpace(options.KeyPrefix), "RedisStreamOptions.KeyPrefix must not be empty.");
        Require(!string.IsNullOrWhiteSpace(options.ConsumerGroup), "RedisStreamOptions.ConsumerGroup must not be empty.");
        Require(!string.IsNullOrWhiteSpace(options.ConsumerName), "RedisStreamOptions.ConsumerName must not be empty.");
        Require(options.Queues is >= 1 and <= 1024, $"RedisStreamOptions.Queues must be in [1, 1024] (was {options.Queues}).");
        Require(options.MaxLength >= 100, $"RedisStreamOptions.MaxLength must be at least 100 (was {options.MaxLength}).");
        Require(options.BatchSize >= 1, $"RedisStreamOptions.BatchSize must be at least 1 (was {options.BatchSize}).");
        Require(options.PollInterval > TimeSpan.Zero, $"RedisStreamOptions.PollInterval must be positive (was {options.PollInterval}).");
        Require(options.ClaimIdle > TimeSpan.Zero, $"RedisStreamOptions.ClaimIdle must be positive (was {options.ClaimIdle}).");
        Require(options.ClaimInterval > TimeSpan.Zero, $"RedisStreamOptions.ClaimInterval must be positive (was {options.ClaimInterval}).");
        Require(options.MaxDeliveryAttempts >= 1, $"RedisStreamOptions.MaxDeliveryAttempts must be at least 1 (was {options.MaxDeliveryAttempts}).");
        Require(options.RetryBackoff >= TimeSpan.Zero, $"RedisStreamOptions.RetryBackoff must not be negative (was {options.RetryBackoff}).");
        Require(options.OperationTimeout > TimeSpan.Zero, $"RedisStreamOptions.OperationTimeout must be positive (was {options.OperationTimeout}).");
        return failures;

        void Require(bool condition, string message)
        {
            if (!condition)
            {
                failures.Add(message);
            }
        }
    }
}
