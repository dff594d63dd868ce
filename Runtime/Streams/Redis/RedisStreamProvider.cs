using System.Collections.Concurrent;
using System.Globalization;
using System.Reflection;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OrleansShards.Runtime.Calls;
using StackExchange.Redis;

namespace OrleansShards.Runtime.Streams.Redis;

/// <summary>
/// Streams on Redis Streams. A logical stream (namespace, key) is hashed onto one of
/// <see cref="RedisStreamOptions.Queues"/> Redis streams; publishing is an XADD with approximate
/// MAXLEN trimming, so an accepted item is durable in Redis. One consumer loop per silo reads all
/// queues with XREADGROUP in the service's consumer group, delivers items through
/// <see cref="StreamDelivery"/> — items of one logical stream one at a time and in order, different
/// streams in parallel — and acknowledges (XACK) each item only after it was handled. A failed
/// item is retried with backoff and left pending when it keeps failing; pending items idle past
/// <see cref="RedisStreamOptions.ClaimIdle"/> (their consumer died) are claimed (XPENDING/XCLAIM)
/// and delivered again. Items are JSON; the item type is resolved from the subscribers, never
/// from an arbitrary type name.
/// </summary>
internal sealed partial class RedisStreamProvider : IStreamProvider, IHostedService, IAsyncDisposable
{
    private static readonly MethodInfo DeliverMethod = typeof(RedisStreamProvider).GetMethod(nameof(DeliverTypedAsync), BindingFlags.NonPublic | BindingFlags.Static)!;
    private readonly ConcurrentDictionary<string, Type> _types = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<Type, Func<StreamDelivery, StreamId, object, StreamSequenceToken, Task>> _deliverers = new();
    private readonly RedisStreamOptions _options;
    private readonly GrainRuntime _runtime;
    private readonly StreamDelivery _delivery;
    private readonly ILogger _logger;
    private readonly string[] _queueKeys;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Lazy<Task<ConnectionMultiplexer>> _connection;
    private Task _loop = Task.CompletedTask;

    public RedisStreamProvider(string name, GrainRuntime runtime, RedisStreamOptions options, ILogger logger)
    {
        Name = name;
        _runtime = runtime;
        _options = options;
        _logger = logger;
        _delivery = new StreamDelivery(runtime);
        _queueKeys = Enumerable.Range(0, options.Queues).Select(i => $"{options.KeyPrefix}:{name}:{i}").ToArray();
        _connection = new Lazy<Task<ConnectionMultiplexer>>(ConnectAsync);
    }

    public string Name { get; }

    /// <summary>Items delivered and acknowledged.</summary>
    public long Delivered => Interlocked.Read(ref _delivered);

    /// <summary>Items claimed from idle consumers.</summary>
    public long Claimed => Interlocked.Read(ref _claimed);

    private long _delivered;
    private int _stopped;
    private long _claimed;

    public IAsyncStream<T> GetStream<T>(string streamNamespace, string key)
    {
        ArgumentException.ThrowIfNullOrEmpty(streamNamespace);
        ArgumentException.ThrowIfNullOrEmpty(key);
        _types.TryAdd(TypeKey(streamNamespace, typeof(T)), typeof(T));
        return new RedisStream<T>(this, new StreamId(streamNamespace, key));
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        using (ExecutionContext.SuppressFlow())
        {
            _loop = Task.Run(() => ConsumeAsync(_stopping.Token));
        }

        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _stopped, 1) == 0)
        {
            await _stopping.CancelAsync().ConfigureAwait(false);
        }

        try
        {
            await _loop.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync(CancellationToken.None).ConfigureAwait(false);
        if (_connection.IsValueCreated && _connection.Value.IsCompletedSuccessfully)
        {
            await _connection.Value.Result.CloseAsync().ConfigureAwait(false);
            _connection.Value.Result.Dispose();
        }
    }

    internal string QueueOf(StreamId id)
    {
        // FNV-1a: stable across processes (string.GetHashCode is randomized per process).
        var hash = 2166136261u;
        foreach (var b in Encoding.UTF8.GetBytes(id.Namespace + "\n" + id.Key))
        {
            hash = (hash ^ b) * 16777619u;
        }

        return _queueKeys[hash % (uint)_queueKeys.Length];
    }

    private async Task PublishAsync<T>(StreamId id, IEnumerable<T> items)
    {
        var db = await DatabaseAsync().ConfigureAwait(false);
        var queue = QueueOf(id);
        var type = TypeName(typeof(T));
        var adds = new List<Task<RedisResult>>();
        foreach (var item in items)
        {
            var data = JsonSerializer.SerializeToUtf8Bytes(item);
            adds.Add(db.ExecuteAsync("XADD", queue, "MAXLEN", "~", _options.MaxLength, "*", "ns", id.Namespace, "key", id.Key, "type", type, "data", data));
        }

        await Task.WhenAll(adds).WaitAsync(_options.OperationTimeout).ConfigureAwait(false);
    }

    private async Task ConsumeAsync(CancellationToken stopping)
    {
        CallChain.Clear();
        var groupsReady = false;
        var ownPendingRead = false;
        var nextClaim = Environment.TickCount64;
        while (!stopping.IsCancellationRequested)
        {
            try
            {
                var db = await DatabaseAsync().ConfigureAwait(false);
                if (!groupsReady)
                {
                    await EnsureGroupsAsync(db).ConfigureAwait(false);
                    groupsReady = true;
                }

                // After a restart this consumer first re-reads what it had received but not acknowledged.
                var entries = await ReadAsync(db, ownPendingRead ? ">" : "0").ConfigureAwait(false);
                if (!ownPendingRead && entries.Count == 0)
                {
                    ownPendingRead = true;
                    continue;
                }

                if (entries.Count > 0)
                {
                    await DeliverBatchAsync(db, entries, stopping).ConfigureAwait(false);
                    continue;
                }

                if (Environment.TickCount64 >= nextClaim)
                {
                    nextClaim = Environment.TickCount64 + (long)_options.ClaimInterval.TotalMilliseconds;
                    var claimed = await ClaimIdleAsync(db).ConfigureAwait(false);
                    if (claimed.Count > 0)
                    {
                        await DeliverBatchAsync(db, claimed, stopping).ConfigureAwait(false);
                        continue;
                    }
                }

                await Task.Delay(_options.PollInterval, stopping).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                // Redis unreachable or a group lost (server restarted empty): wait and start over.
                LogConsumerFault(ex, Name);
                groupsReady = false;
                try
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(250), stopping).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    private async Task EnsureGroupsAsync(IDatabase db)
    {
        foreach (var queue in _queueKeys)
        {
            try
            {
                await db.ExecuteAsync("XGROUP", "CREATE", queue, _options.ConsumerGroup, "0", "MKSTREAM").WaitAsync(_options.OperationTimeout).ConfigureAwait(false);
            }
            catch (RedisServerException ex) when (ex.Message.Contains("BUSYGROUP", StringComparison.Ordinal))
            {
            }
        }
    }

    private async Task<List<Entry>> ReadAsync(IDatabase db, string position)
    {
        var args = new List<object> { "GROUP", _options.ConsumerGroup, _options.ConsumerName, "COUNT", _options.BatchSize, "STREAMS" };
        args.AddRange(_queueKeys);
        args.AddRange(Enumerable.Repeat<object>(position, _queueKeys.Length));
        var result = await db.ExecuteAsync("XREADGROUP", args).WaitAsync(_options.OperationTimeout).ConfigureAwait(false);
        var entries = new List<Entry>();
        if (result.IsNull)
        {
            return entries;
        }

        foreach (var stream in (RedisResult[])result!)
        {
            var parts = (RedisResult[])stream!;
            var queue = (string)parts[0]!;
            if (parts[1].IsNull)
            {
                continue;
            }

            foreach (var raw in (RedisResult[])parts[1]!)
            {
                if (ParseEntry(queue, raw) is { } entry)
                {
                    entries.Add(entry);
                }
            }
        }

        return entries;
    }

    private async Task<List<Entry>> ClaimIdleAsync(IDatabase db)
    {
        var claimed = new List<Entry>();
        var idleMs = (long)_options.ClaimIdle.TotalMilliseconds;
        foreach (var queue in _queueKeys)
        {
            var pending = await db.ExecuteAsync("XPENDING", queue, _options.ConsumerGroup, "IDLE", idleMs, "-", "+", _options.BatchSize)
                .WaitAsync(_options.OperationTimeout).ConfigureAwait(false);
            if (pending.IsNull)
            {
                continue;
            }

            var ids = new List<object>();
            foreach (var item in (RedisResult[])pending!)
            {
                var fields = (RedisResult[])item!;
                var id = (string)fields[0]!;
                var deliveries = (long)fields[3];
                if (deliveries >= _options.MaxDeliveryAttempts)
                {
                    LogDead(Name, queue, id, deliveries);
                    await db.ExecuteAsync("XACK", queue, _options.ConsumerGroup, id).ConfigureAwait(false);
                    continue;
                }

                ids.Add(id);
            }

            if (ids.Count == 0)
            {
                continue;
            }

            var args = new List<object> { queue, _options.ConsumerGroup, _options.ConsumerName, idleMs };
            args.AddRange(ids);
            var result = await db.ExecuteAsync("XCLAIM", args).WaitAsync(_options.OperationTimeout).ConfigureAwait(false);
            foreach (var raw in (RedisResult[])result!)
            {
                if (!raw.IsNull && ParseEntry(queue, raw) is { } entry)
                {
                    claimed.Add(entry);
                    Interlocked.Increment(ref _claimed);
                }
            }
        }

        return claimed;
    }

    /// <summary>Delivers a batch: each logical stream's items in order, streams in parallel; acknowledges each handled item.</summary>
    private async Task DeliverBatchAsync(IDatabase db, List<Entry> entries, CancellationToken stopping)
    {
        var byStream = entries.GroupBy(e => e.Stream);
        await Task.WhenAll(byStream.Select(async group =>
        {
            var handled = new List<Entry>();
            try
            {
                foreach (var entry in group)
                {
                    if (!await DeliverWithRetryAsync(entry, stopping).ConfigureAwait(false))
                    {
                        // Left pending (claimed again later); later items of this stream wait with it.
                        break;
                    }

                    handled.Add(entry);
                }
            }
            finally
            {
                // One XACK per queue for the handled prefix: acknowledged only after handling.
                foreach (var byQueue in handled.GroupBy(e => e.Queue))
                {
                    var args = new List<object> { byQueue.Key, _options.ConsumerGroup };
                    args.AddRange(byQueue.Select(e => (object)e.Id));
                    await db.ExecuteAsync("XACK", args).WaitAsync(_options.OperationTimeout).ConfigureAwait(false);
                    Interlocked.Add(ref _delivered, args.Count - 2);
                }
            }
        })).ConfigureAwait(false);
    }

    private async Task<bool> DeliverWithRetryAsync(Entry entry, CancellationToken stopping)
    {
        var type = ResolveType(entry.Stream.Namespace, entry.TypeName);
        if (type is null)
        {
            LogUnknownType(Name, entry.Stream, entry.TypeName);
            return true;
        }

        object? item;
        try
        {
            item = JsonSerializer.Deserialize(entry.Data, type);
        }
        catch (JsonException ex)
        {
            LogUndecodable(ex, Name, entry.Stream, entry.Id);
            return true;
        }

        var deliver = _deliverers.GetOrAdd(type, static t => DeliverMethod.MakeGenericMethod(t).CreateDelegate<Func<StreamDelivery, StreamId, object, StreamSequenceToken, Task>>());
        var token = new StreamSequenceToken(entry.Sequence, entry.Id);
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await deliver(_delivery, entry.Stream, item!, token).ConfigureAwait(false);
                return true;
            }
            catch (Exception ex) when (attempt < _options.MaxDeliveryAttempts && !stopping.IsCancellationRequested)
            {
                LogRetry(ex, entry.Stream, entry.Id, attempt);
                var backoff = TimeSpan.FromTicks(Math.Min(TimeSpan.FromSeconds(5).Ticks, _options.RetryBackoff.Ticks * (1L << Math.Min(attempt - 1, 20))));
                await Task.Delay(backoff, _runtime.Time, stopping).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                LogRetry(ex, entry.Stream, entry.Id, attempt);
                return false;
            }
        }
    }

    private static Task DeliverTypedAsync<T>(StreamDelivery delivery, StreamId id, object item, StreamSequenceToken token) =>
        delivery.DeliverAsync(id, (T)item, token, CancellationToken.None);

    private Type? ResolveType(string streamNamespace, string typeName)
    {
        if (_types.TryGetValue(streamNamespace + "|" + typeName, out var known))
        {
            return known;
        }

        foreach (var grainType in _runtime.Registry.GetImplicitSubscribers(streamNamespace))
        {
            foreach (var iface in _runtime.Registry.GetImplementation(grainType).GetInterfaces())
            {
                if (iface.IsGenericType && iface.GetGenericTypeDefinition() == typeof(IAsyncObserver<>))
                {
                    var itemType = iface.GetGenericArguments()[0];
                    _types.TryAdd(TypeKey(streamNamespace, itemType), itemType);
                }
            }
        }

        return _types.TryGetValue(streamNamespace + "|" + typeName, out known) ? known : null;
    }

    private static string TypeKey(string streamNamespace, Type type) => streamNamespace + "|" + TypeName(type);

    private static string TypeName(Type type) => type.FullName ?? type.Name;

    private static Entry? ParseEntry(string queue, RedisResult raw)
    {
        var parts = (RedisResult[])raw!;
        var id = (string)parts[0]!;
        if (parts[1].IsNull)
        {
            return null; // Trimmed away while pending.
        }

        var fields = (RedisValue[])parts[1]!;
        string? ns = null, key = null, type = null;
        byte[]? data = null;
        for (var i = 0; i + 1 < fields.Length; i += 2)
        {
            switch ((string?)fields[i])
            {
                case "ns": ns = fields[i + 1]; break;
                case "key": key = fields[i + 1]; break;
                case "type": type = fields[i + 1]; break;
                case "data": data = fields[i + 1]; break;
            }
        }

        if (ns is null || key is null || type is null || data is null)
        {
            return null;
        }

        var dash = id.IndexOf('-', StringComparison.Ordinal);
        var ms = long.Parse(id.AsSpan(0, dash), CultureInfo.InvariantCulture);
        var seq = long.Parse(id.AsSpan(dash + 1), CultureInfo.InvariantCulture);
        return new Entry(queue, id, (ms << 20) | (seq & 0xFFFFF), new StreamId(ns, key), type, data);
    }

    private async Task<IDatabase> DatabaseAsync()
    {
        var connection = await _connection.Value.WaitAsync(_options.OperationTimeout + TimeSpan.FromSeconds(1)).ConfigureAwait(false);
        return connection.IsConnected ? connection.GetDatabase() : throw new InvalidOperationException("Redis is not connected.");
    }

    private async Task<ConnectionMultiplexer> ConnectAsync()
    {
        var configuration = ConfigurationOptions.Parse(_options.Configuration);
        configuration.AbortOnConnectFail = false;
        configuration.ConnectTimeout = 1000;
        configuration.SyncTimeout = (int)_options.OperationTimeout.TotalMilliseconds;
        configuration.KeepAlive = 5;
        return await ConnectionMultiplexer.ConnectAsync(configuration).ConfigureAwait(false);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Redis stream consumer of provider {Provider} failed; retrying")]
    private partial void LogConsumerFault(Exception exception, string provider);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Delivery of item {Id} on stream {StreamId} failed (attempt {Attempt})")]
    private partial void LogRetry(Exception exception, StreamId streamId, string id, int attempt);

    [LoggerMessage(Level = LogLevel.Error, Message = "Item {Id} of queue {Queue} (provider {Provider}) failed {Deliveries} deliveries; acknowledged as dead")]
    private partial void LogDead(string provider, string queue, string id, long deliveries);

    [LoggerMessage(Level = LogLevel.Error, Message = "Provider {Provider}: no subscriber of stream {StreamId} takes items of type {Type}; item skipped")]
    private partial void LogUnknownType(string provider, StreamId streamId, string type);

    [LoggerMessage(Level = LogLevel.Error, Message = "Provider {Provider}: item {Id} of stream {StreamId} is not valid JSON; skipped")]
    private partial void LogUndecodable(Exception exception, string provider, StreamId streamId, string id);

    private sealed record Entry(string Queue, string Id, long Sequence, StreamId Stream, string TypeName, byte[] Data);

    private sealed class RedisStream<T>(RedisStreamProvider provider, StreamId id) : IAsyncStream<T>
    {
        public StreamId StreamId => id;

        public Task OnNextAsync(T item) => provider.PublishAsync(id, [item]);

        public Task OnNextBatchAsync(IEnumerable<T> items)
        {
            ArgumentNullException.ThrowIfNull(items);
            return provider.PublishAsync(id, items);
        }

        public Task<StreamSubscriptionHandle> SubscribeAsync(IAsyncObserver<T> observer) =>
            Task.FromResult(provider._delivery.Subscribe(id, observer));
    }
}
