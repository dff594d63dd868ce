using System.Globalization;
using Microsoft.Extensions.Logging;
using Orleans.Providers.Streams.Common;
using Orleans.Serialization;
using Orleans.Streams;
using StackExchange.Redis;

namespace OrleansShards.Grains.Streams.Redis;

/// <summary>
/// Reads one Redis stream in the consumer group. At start it first re-reads this consumer's own pending
/// entries (XREADGROUP from id 0: received but never acknowledged, e.g. before a crash), then new ones (&gt;).
/// Every <see cref="RedisStreamOptions.ClaimInterval"/> it claims entries other consumers left pending longer
/// than <see cref="RedisStreamOptions.ClaimIdle"/> (XPENDING + XCLAIM). Entries are acknowledged (XACK) only
/// in <see cref="MessagesDeliveredAsync(IList{IBatchContainer}, CancellationToken)"/>, i.e. after Orleans
/// delivered them and purged them from its cache.
/// </summary>
internal sealed partial class RedisQueueAdapterReceiver : IQueueAdapterReceiver
{
    private static readonly TimeSpan FaultPause = TimeSpan.FromSeconds(1);
    private readonly string _key;
    private readonly RedisStreamOptions _options;
    private readonly RedisStreamConnection _connection;
    private readonly Serializer<RedisBatchContainer> _serializer;
    private readonly ILogger _logger;
    private bool _groupReady;
    private RedisValue _pendingCursor = "0-0";
    private bool _pendingDone;
    private long _nextClaimAt;
    private long _pausedUntil;

    public RedisQueueAdapterReceiver(string key, RedisStreamOptions options, RedisStreamConnection connection, Serializer<RedisBatchContainer> serializer, ILogger<RedisQueueAdapterReceiver> logger)
    {
        _key = key;
        _options = options;
        _connection = connection;
        _serializer = serializer;
        _logger = logger;
        _nextClaimAt = Environment.TickCount64;
    }

    /// <summary>Entries this receiver claimed from other consumers.</summary>
    public long Claimed { get; private set; }

    public async Task Initialize(TimeSpan timeout)
    {
        try
        {
            var db = await _connection.GetDatabaseAsync().WaitAsync(timeout).ConfigureAwait(false);
            await EnsureGroupAsync(db).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            // Not fatal: every read retries creating the group first.
            LogFault(ex, _key);
        }
    }

    [Obsolete("Use the overload which accepts a CancellationToken.")]
    public Task<IList<IBatchContainer>> GetQueueMessagesAsync(int maxCount) => GetQueueMessagesAsync(maxCount, CancellationToken.None);

    public async Task<IList<IBatchContainer>> GetQueueMessagesAsync(int maxCount, CancellationToken cancellationToken)
    {
        if (Environment.TickCount64 < _pausedUntil)
        {
            return [];
        }

        var count = maxCount > 0 ? Math.Min(maxCount, _options.BatchSize) : _options.BatchSize;
        try
        {
            var db = await _connection.GetDatabaseAsync().ConfigureAwait(false);
            if (!_groupReady)
            {
                await EnsureGroupAsync(db).ConfigureAwait(false);
            }

            if (!_pendingDone)
            {
                var pending = await db.StreamReadGroupAsync(_key, _options.ConsumerGroup, _options.ConsumerName, _pendingCursor, count)
                    .WaitAsync(_options.OperationTimeout, cancellationToken).ConfigureAwait(false);
                if (pending.Length > 0)
                {
                    _pendingCursor = pending[^1].Id;
                    LogRedelivering(pending.Length, _key);
                    return await DecodeAsync(db, pending).ConfigureAwait(false);
                }

                _pendingDone = true;
            }

            if (Environment.TickCount64 >= _nextClaimAt)
            {
                _nextClaimAt = Environment.TickCount64 + (long)_options.ClaimInterval.TotalMilliseconds;
                var claimed = await ClaimIdleAsync(db, count, cancellationToken).ConfigureAwait(false);
                if (claimed.Count > 0)
                {
                    return claimed;
                }
            }

            var entries = await db.StreamReadGroupAsync(_key, _options.ConsumerGroup, _options.ConsumerName, StackExchange.Redis.StreamPosition.NewMessages, count)
                .WaitAsync(_options.OperationTimeout, cancellationToken).ConfigureAwait(false);
            return entries.Length == 0 ? [] : await DecodeAsync(db, entries).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            // Redis unreachable, or the group vanished (server restarted empty): pause, recreate the group,
            // and re-read own pending entries. Returning empty keeps Orleans' read loop on its short timer
            // instead of its 10-20 s reader backoff.
            LogFault(ex, _key);
            _groupReady = false;
            _pendingDone = false;
            _pendingCursor = "0-0";
            _pausedUntil = Environment.TickCount64 + (long)FaultPause.TotalMilliseconds;
            return [];
        }
    }

    [Obsolete("Use the overload which accepts a CancellationToken.")]
    public Task MessagesDeliveredAsync(IList<IBatchContainer> messages) => MessagesDeliveredAsync(messages, CancellationToken.None);

    public async Task MessagesDeliveredAsync(IList<IBatchContainer> messages, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var ids = messages.OfType<RedisBatchContainer>().Select(m => m.EntryId).OfType<string>().Select(id => (RedisValue)id).ToArray();
        if (ids.Length == 0)
        {
            return;
        }

        var db = await _connection.GetDatabaseAsync().ConfigureAwait(false);
        await db.StreamAcknowledgeAsync(_key, _options.ConsumerGroup, ids).WaitAsync(_options.OperationTimeout, cancellationToken).ConfigureAwait(false);
    }

    // Nothing to release: unacknowledged entries stay pending in Redis for this consumer (or a claimer).
    public Task Shutdown(TimeSpan timeout) => Task.CompletedTask;

    /// <summary>Orders entries of one Redis stream: <c>ms-seq</c> packed as <c>ms &lt;&lt; 20 | seq</c>.</summary>
    internal static long SequenceOf(string entryId)
    {
        var dash = entryId.IndexOf('-', StringComparison.Ordinal);
        var ms = long.Parse(entryId.AsSpan(0, dash), CultureInfo.InvariantCulture);
        var seq = long.Parse(entryId.AsSpan(dash + 1), CultureInfo.InvariantCulture);
        return (ms << 20) | (seq & 0xFFFFF);
    }

    private async Task EnsureGroupAsync(IDatabase db)
    {
        try
        {
            // From 0, with MKSTREAM: nothing published before the first read is skipped.
            await db.StreamCreateConsumerGroupAsync(_key, _options.ConsumerGroup, "0", createStream: true)
                .WaitAsync(_options.OperationTimeout).ConfigureAwait(false);
        }
        catch (RedisServerException ex) when (ex.Message.Contains("BUSYGROUP", StringComparison.Ordinal))
        {
        }

        _groupReady = true;
    }

    private async Task<IList<IBatchContainer>> ClaimIdleAsync(IDatabase db, int count, CancellationToken cancellationToken)
    {
        var idleMs = (long)_options.ClaimIdle.TotalMilliseconds;
        var pending = await db.StreamPendingMessagesAsync(_key, _options.ConsumerGroup, count, RedisValue.Null, minId: null, maxId: null, minIdleTimeInMs: idleMs)
            .WaitAsync(_options.OperationTimeout, cancellationToken).ConfigureAwait(false);

        // Own entries are not claimed: they sit in this silo's cache and are acknowledged after delivery.
        var theirs = pending.Where(p => p.ConsumerName != _options.ConsumerName).Select(p => p.MessageId).ToArray();
        if (theirs.Length == 0)
        {
            return [];
        }

        var claimed = await db.StreamClaimAsync(_key, _options.ConsumerGroup, _options.ConsumerName, idleMs, theirs)
            .WaitAsync(_options.OperationTimeout, cancellationToken).ConfigureAwait(false);
        var live = claimed.Where(e => !e.IsNull).ToArray();
        Claimed += live.Length;
        if (live.Length > 0)
        {
            LogClaimed(live.Length, _key);
        }

        return await DecodeAsync(db, live).ConfigureAwait(false);
    }

    private async Task<IList<IBatchContainer>> DecodeAsync(IDatabase db, StreamEntry[] entries)
    {
        var batch = new List<IBatchContainer>(entries.Length);
        List<RedisValue>? skipped = null;
        foreach (var entry in entries)
        {
            var id = entry.Id.ToString();
            var data = entry.IsNull ? RedisValue.Null : entry[RedisQueueAdapter.DataField];
            RedisBatchContainer? container = null;
            if (data.IsNull)
            {
                // Trimmed away (MAXLEN) while pending, or not written by this provider.
                LogUndecodable(null, _key, id);
            }
            else
            {
                try
                {
                    container = _serializer.Deserialize((byte[])data!);
                }
                catch (Exception ex) when (ex is not OutOfMemoryException)
                {
                    LogUndecodable(ex, _key, id);
                }
            }

            if (container is null)
            {
                (skipped ??= []).Add(entry.Id);
                continue;
            }

            container.EntryId = id;
            container.Token = new EventSequenceTokenV2(SequenceOf(id));
            batch.Add(container);
        }

        if (skipped is not null)
        {
            // A poison entry is acknowledged so it does not come back forever.
            await db.StreamAcknowledgeAsync(_key, _options.ConsumerGroup, [.. skipped]).WaitAsync(_options.OperationTimeout).ConfigureAwait(false);
        }

        return batch;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Redis stream queue {Queue}: read failed; retrying")]
    private partial void LogFault(Exception exception, string queue);

    [LoggerMessage(Level = LogLevel.Information, Message = "Re-reading {Count} own pending entries of Redis stream queue {Queue}")]
    private partial void LogRedelivering(int count, string queue);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Claimed {Count} idle entries of Redis stream queue {Queue} from other consumers")]
    private partial void LogClaimed(int count, string queue);

    [LoggerMessage(Level = LogLevel.Error, Message = "Redis stream queue {Queue}: entry {EntryId} cannot be decoded; acknowledged and skipped")]
    private partial void LogUndecodable(Exception? exception, string queue, string entryId);
}
