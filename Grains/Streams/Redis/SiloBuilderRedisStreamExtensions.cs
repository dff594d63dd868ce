using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;
using Orleans.Hosting;
using StackExchange.Redis;

namespace OrleansShards.Grains.Streams.Redis;

/// <summary>Registers the Redis Streams persistent stream provider with an Orleans silo.</summary>
public static class SiloBuilderRedisStreamExtensions
{
    /// <summary>Default <see cref="StreamPullingAgentOptions.GetQueueMsgsTimerPeriod"/> of this provider (Orleans' own is 100 ms).</summary>
    public static readonly TimeSpan DefaultPollPeriod = TimeSpan.FromMilliseconds(10);

    /// <summary>
    /// Adds a persistent stream provider named <paramref name="name"/> on Redis Streams. Uses the
    /// <see cref="IConnectionMultiplexer"/> registered in DI if there is one, else
    /// <see cref="RedisStreamOptions.Configuration"/>. Queues are polled every <see cref="DefaultPollPeriod"/>.
    /// </summary>
    /// <param name="builder">The silo builder.</param>
    /// <param name="name">The stream provider name (also part of the Redis keys).</param>
    /// <param name="configure">Configures <see cref="RedisStreamOptions"/>; validated at silo start.</param>
    /// <param name="configureStream">
    /// Further persistent stream settings, applied after this provider's defaults, e.g.
    /// <c>s =&gt; s.ConfigureStreamPubSub(StreamPubSubType.ImplicitOnly)</c> or <c>ConfigurePullingAgent</c>.
    /// </param>
    /// <returns>The same builder, for chaining.</returns>
    public static ISiloBuilder AddRedisStreams(
        this ISiloBuilder builder,
        string name,
        Action<RedisStreamOptions> configure,
        Action<ISiloPersistentStreamConfigurator>? configureStream = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(configure);
        return builder.AddPersistentStreams(name, RedisQueueAdapterFactory.Create, stream =>
        {
            stream.Configure<RedisStreamOptions>(ob => ob.Configure(configure));
            stream.ConfigureComponent(RedisStreamOptionsValidator.Create);
            stream.ConfigureDelegate(services => services.AddKeyedSingleton(name, (sp, _) => new RedisStreamConnection(
                sp.GetService<IConnectionMultiplexer>(),
                sp.GetOptionsByName<RedisStreamOptions>(name),
                sp.GetRequiredService<ILogger<RedisStreamConnection>>())));
            stream.ConfigurePullingAgent(ob => ob.Configure(o => o.GetQueueMsgsTimerPeriod = DefaultPollPeriod));
            configureStream?.Invoke(stream);
        });
    }
}
