using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Orleans.Configuration;
using Orleans.Serialization;
using OrleansShards.Grains.Streams.Redis;

namespace OrleansShards.Tests.Infrastructure;

/// <summary>The provider's factory outside any silo: a publisher process, or a receiver driven by hand.</summary>
internal sealed class StandaloneRedisStreams : IAsyncDisposable
{
    private readonly ServiceProvider _services;
    private readonly RedisStreamConnection _connection;

    public StandaloneRedisStreams(string name, RedisStreamOptions options)
    {
        _services = new ServiceCollection().AddSerializer().BuildServiceProvider();
        _connection = new RedisStreamConnection(null, options, NullLogger<RedisStreamConnection>.Instance);
        Factory = new RedisQueueAdapterFactory(
            name,
            options,
            new SimpleQueueCacheOptions(),
            _connection,
            _services.GetRequiredService<Serializer<RedisBatchContainer>>(),
            NullLoggerFactory.Instance);
    }

    public RedisQueueAdapterFactory Factory { get; }

    public async ValueTask DisposeAsync()
    {
        await _connection.DisposeAsync();
        await _services.DisposeAsync();
    }
}
