using Microsoft.Extensions.Logging;
using Orleans.Runtime;
using Orleans.Serialization;
using Orleans.Streams;
using StackExchange.Redis;

namespace OrleansShards.Grains.Streams.Redis;

/// <summary>
/// Publishes to Redis: each publish call is one XADD (approximate MAXLEN trimming) on the queue its stream
/// hashes to, so an item is durable in Redis once the call returned.
/// </summary>
internal sealed class RedisQueueAdapter(
    string name,
    RedisStreamOptions options,
    RedisStreamConnection connection,
    IStreamQueueMapper mapper,
    Serializer<RedisBatchContainer> serializer,
    ILoggerFactory loggerFactory) : IQueueAdapter
{
    /// <summary>The field of a Redis stream entry holding the serialized <see cref="RedisBatchContainer"/>.</summary>
    internal const string DataField = "data";

    public string Name => name;

    public bool IsRewindable => false;

    public StreamProviderDirection Direction => StreamProviderDirection.ReadWrite;

    internal static string QueueKey(RedisStreamOptions options, string provider, QueueId queueId) =>
        $"{options.KeyPrefix}:{provider}:{queueId.GetNumericId()}";

    public async Task QueueMessageBatchAsync<T>(StreamId streamId, IEnumerable<T> events, StreamSequenceToken? token, Dictionary<string, object>? requestContext)
    {
        ArgumentNullException.ThrowIfNull(events);
        if (token is not null)
        {
            throw new ArgumentException("The Redis stream provider does not support publishing with a sequence token.", nameof(token));
        }

        var items = events.Cast<object>().ToList();
        if (items.Count == 0)
        {
            return;
        }

        var container = new RedisBatchContainer(streamId, items, requestContext);
        var payload = serializer.SerializeToArray(container);
        var key = QueueKey(options, name, mapper.GetQueueForStream(streamId));
        var db = await connection.GetDatabaseAsync().ConfigureAwait(false);
        await db.StreamAddAsync(
                key,
                [new NameValueEntry(DataField, payload)],
                messageId: null,
                maxLength: options.MaxLength,
                useApproximateMaxLength: true)
            .WaitAsync(options.OperationTimeout)
            .ConfigureAwait(false);
    }

    public IQueueAdapterReceiver CreateReceiver(QueueId queueId) => new RedisQueueAdapterReceiver(
        QueueKey(options, name, queueId),
        options,
        connection,
        serializer,
        loggerFactory.CreateLogger<RedisQueueAdapterReceiver>());
}
