using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace OrleansShards.Grains.Streams.Redis;

/// <summary>
/// The Redis connection of one stream provider: the <see cref="IConnectionMultiplexer"/> registered in DI when
/// there is one (shared, never disposed here), else a connection of its own made from
/// <see cref="RedisStreamOptions.Configuration"/> on first use and disposed with the service provider.
/// </summary>
internal sealed partial class RedisStreamConnection : IAsyncDisposable
{
    private readonly IConnectionMultiplexer? _shared;
    private readonly RedisStreamOptions _options;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _connectLock = new(1, 1);
    private ConnectionMultiplexer? _own;

    public RedisStreamConnection(IConnectionMultiplexer? shared, RedisStreamOptions options, ILogger<RedisStreamConnection> logger)
    {
        _shared = shared;
        _options = options;
        _logger = logger;
    }

    /// <summary>True when this provider uses the multiplexer registered in DI.</summary>
    internal bool IsShared => _shared is not null;

    public async Task<IDatabase> GetDatabaseAsync()
    {
        if (_shared is not null)
        {
            return _shared.GetDatabase();
        }

        if (_own is { } own)
        {
            return own.GetDatabase();
        }

        await _connectLock.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_own is null)
            {
                var configuration = ConfigurationOptions.Parse(_options.Configuration);
                configuration.AbortOnConnectFail = false;
                configuration.SyncTimeout = (int)_options.OperationTimeout.TotalMilliseconds;
                configuration.AsyncTimeout = (int)_options.OperationTimeout.TotalMilliseconds;
                _own = await ConnectionMultiplexer.ConnectAsync(configuration).ConfigureAwait(false);
                LogConnected(_options.Configuration);
            }

            return _own.GetDatabase();
        }
        finally
        {
            _connectLock.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_own is { } own)
        {
            _own = null;
            // Pending commands are abandoned: waiting for them would take the sync timeout when Redis is unreachable.
            await own.CloseAsync(allowCommandsToComplete: false).ConfigureAwait(false);
            await own.DisposeAsync().ConfigureAwait(false);
        }

        _connectLock.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Redis stream provider connected to {Configuration}")]
    private partial void LogConnected(string configuration);
}
