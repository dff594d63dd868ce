using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using StackExchange.Redis;

namespace OrleansShards.Grains.Hosting;

/// <summary>Registers the one <see cref="IConnectionMultiplexer"/> that the cache, the Redis stream provider and clustering share.</summary>
public static class RedisConnectionServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="IConnectionMultiplexer"/> once (a registration made before wins), connected on first
    /// resolution from <paramref name="configuration"/> (a StackExchange.Redis configuration string) with
    /// <c>abortConnect=false</c>, so a host starts while Redis is down and the multiplexer reconnects by itself.
    /// When the host has stopped, the connection is closed without waiting for pending commands, so disposal does
    /// not wait out the sync timeout against an unreachable server.
    /// </summary>
    /// <param name="services">The services.</param>
    /// <param name="configuration">StackExchange.Redis configuration string, e.g. <c>127.0.0.1:6379</c>.</param>
    /// <param name="connectTimeout">Connect timeout of the multiplexer; null keeps the configuration string's (default 5 s).</param>
    public static IServiceCollection AddShardsRedisConnection(this IServiceCollection services, string configuration, TimeSpan? connectTimeout = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentException.ThrowIfNullOrWhiteSpace(configuration);
        services.TryAddSingleton<IConnectionMultiplexer>(sp => Connect(sp, configuration, connectTimeout));
        return services;
    }

    /// <summary>Connects the shared multiplexer and closes it, without waiting for pending commands, once the host has stopped.</summary>
    internal static IConnectionMultiplexer Connect(IServiceProvider services, string configuration, TimeSpan? connectTimeout)
    {
        var options = ConfigurationOptions.Parse(configuration);
        options.AbortOnConnectFail = false;
        if (connectTimeout is { } timeout)
        {
            options.ConnectTimeout = (int)timeout.TotalMilliseconds;
        }

        var multiplexer = ConnectionMultiplexer.Connect(options);
        services.GetService<IHostApplicationLifetime>()?.ApplicationStopped.Register(
            static state => ((ConnectionMultiplexer)state!).Close(allowCommandsToComplete: false), multiplexer);
        return multiplexer;
    }
}
