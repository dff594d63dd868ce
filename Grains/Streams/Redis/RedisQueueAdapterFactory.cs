using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;
using Orleans.Providers.Streams.Common;
using Orleans.Serialization;
using Orleans.Streams;
using StackExchange.Redis;

namespace OrleansShards.Grains.Streams.Redis;

/// <summary>
/// Builds the parts of the Redis Streams persistent stream provider: the adapter, a
/// <see cref="HashRingBasedStreamQueueMapper"/> over <see cref="RedisStreamOptions.Queues"/> queues,
/// a <see cref="SimpleQueueAdapterCache"/> and the failure handler.
/// </summary>
internal sealed class RedisQueueAdapterFactory : IQueueAdapterFactory
{
    private readonly string _name;
    private readonly RedisStreamOptions _options;
    private readonly RedisStreamConnection _connection;
    private readonly Serializer<RedisBatchContainer> _serializer;
    private readonly ILoggerFactory _loggerFactory;
    private readonly HashRingBasedStreamQueueMapper _mapper;
    private readonly SimpleQueueAdapterCache _cache;
    private readonly Task<IStreamFailureHandler> _failureHandler;

    public RedisQueueAdapterFactory(
        string name,
        RedisStreamOptions options,
        SimpleQueueCacheOptions cacheOptions,
        RedisStreamConnection connection,
        Serializer<RedisBatchContainer> serializer,
        ILoggerFactory loggerFactory)
    {
        _name = name;
        _options = options;
        _connection = connection;
        _serializer = serializer;
        _loggerFactory = loggerFactory;
        _mapper = new HashRingBasedStreamQueueMapper(new HashRingStreamQueueMapperOptions { TotalQueueCount = options.Queues }, name);
        _cache = new SimpleQueueAdapterCache(cacheOptions, name, loggerFactory);
        _failureHandler = Task.FromResult<IStreamFailureHandler>(new RedisStreamFailureHandler(loggerFactory.CreateLogger<RedisStreamFailureHandler>()));
    }

    // Orleans may build the factory before its configuration validators run: validate here too.
    public static RedisQueueAdapterFactory Create(IServiceProvider services, string name)
    {
        var options = services.GetOptionsByName<RedisStreamOptions>(name);
        RedisStreamOptionsValidator.ThrowIfInvalid(options, name, services.GetService<IConnectionMultiplexer>() is not null);
        return new(
            name,
            options,
            services.GetOptionsByName<SimpleQueueCacheOptions>(name),
            services.GetRequiredKeyedService<RedisStreamConnection>(name),
            services.GetRequiredService<Serializer<RedisBatchContainer>>(),
            services.GetRequiredService<ILoggerFactory>());
    }

    [Obsolete("Use the overload which accepts a CancellationToken.")]
    public Task<IQueueAdapter> CreateAdapter() => CreateAdapter(CancellationToken.None);

    public Task<IQueueAdapter> CreateAdapter(CancellationToken cancellationToken) =>
        Task.FromResult<IQueueAdapter>(new RedisQueueAdapter(_name, _options, _connection, _mapper, _serializer, _loggerFactory));

    public IQueueAdapterCache GetQueueAdapterCache() => _cache;

    public IStreamQueueMapper GetStreamQueueMapper() => _mapper;

    public Task<IStreamFailureHandler> GetDeliveryFailureHandler(QueueId queueId) => _failureHandler;
}
