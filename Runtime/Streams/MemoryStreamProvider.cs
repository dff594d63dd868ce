using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using OrleansShards.Runtime.Calls;

namespace OrleansShards.Runtime.Streams;

/// <summary>
/// In-memory streams: each stream is a FIFO queue drained by one pump at a time, so items of a
/// stream are delivered in publish order and one at a time. A failed delivery is retried with
/// backoff (<see cref="MemoryStreamOptions"/>). Items are lost if the process dies; that is why
/// the shard keeps an outbox and replays it on activation.
/// </summary>
internal sealed partial class MemoryStreamProvider : IStreamProvider
{
    private readonly ConcurrentDictionary<StreamId, StreamQueue> _queues = new();
    private readonly GrainRuntime _runtime;
    private readonly StreamDelivery _delivery;
    private readonly MemoryStreamOptions _options;
    private readonly ILogger _logger;
    private long _sequence;

    public MemoryStreamProvider(string name, GrainRuntime runtime, MemoryStreamOptions options, ILogger logger)
    {
        Name = name;
        _runtime = runtime;
        _options = options;
        _logger = logger;
        _delivery = new StreamDelivery(runtime);
    }

    public string Name { get; }

    public IAsyncStream<T> GetStream<T>(string streamNamespace, string key)
    {
        ArgumentException.ThrowIfNullOrEmpty(streamNamespace);
        ArgumentException.ThrowIfNullOrEmpty(key);
        return new MemoryStream<T>(this, new StreamId(streamNamespace, key));
    }

    // A stream's queue exists only while it holds items: the pump removes it when it runs dry, so
    // memory stays bounded by the streams in use, not by every stream ever written. Sequence numbers
    // come from one provider-wide counter taken under the queue lock, so they still increase along
    // each stream across queue removals.
    private void Enqueue(StreamId id, Func<StreamSequenceToken, CancellationToken, Task> deliver)
    {
        while (true)
        {
            var queue = _queues.GetOrAdd(id, static _ => new StreamQueue());
            bool start;
            lock (queue)
            {
                if (queue.Removed)
                {
                    continue;
                }

                queue.Items.Enqueue((deliver, Interlocked.Increment(ref _sequence)));
                start = !queue.Pumping;
                queue.Pumping = true;
            }

            if (start)
            {
                // The pump starts on the publisher's thread: a delivery that completes at once (an
                // in-memory handler) is done before OnNextAsync returns, with no thread-pool hop to wait
                // behind a busy pool; at its first real wait the pump continues on its own and the
                // publisher goes on. No context flows from the publisher into the pump.
                using (ExecutionContext.SuppressFlow())
                {
                    _ = PumpAsync(id, queue);
                }
            }

            return;
        }
    }

    private async Task PumpAsync(StreamId id, StreamQueue queue)
    {
        CallChain.Clear();
        while (true)
        {
            Func<StreamSequenceToken, CancellationToken, Task> deliver;
            long sequence;
            lock (queue)
            {
                if (!queue.Items.TryDequeue(out var item))
                {
                    queue.Pumping = false;
                    queue.Removed = true;
                    _queues.TryRemove(new KeyValuePair<StreamId, StreamQueue>(id, queue));
                    return;
                }

                (deliver, sequence) = item;
            }

            var token = new StreamSequenceToken(sequence);
            for (var attempt = 1; ; attempt++)
            {
                try
                {
                    await deliver(token, CancellationToken.None).ConfigureAwait(false);
                    break;
                }
                catch (Exception ex) when (attempt < _options.MaxDeliveryAttempts)
                {
                    LogRetry(ex, id, sequence, attempt);
                    await Task.Delay(_options.RetryBackoff * Math.Pow(2, attempt - 1), _runtime.Time).ConfigureAwait(false);
                }
                catch (Exception ex)
                {
                    LogDead(ex, id, sequence, attempt);
                    break;
                }
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Delivery of item {Sequence} on stream {StreamId} failed (attempt {Attempt}); retrying")]
    private partial void LogRetry(Exception exception, StreamId streamId, long sequence, int attempt);

    [LoggerMessage(Level = LogLevel.Error, Message = "Item {Sequence} on stream {StreamId} could not be delivered after {Attempts} attempts; skipped")]
    private partial void LogDead(Exception exception, StreamId streamId, long sequence, int attempts);

    private sealed class StreamQueue
    {
        public Queue<(Func<StreamSequenceToken, CancellationToken, Task> Deliver, long Sequence)> Items { get; } = new();

        public bool Pumping { get; set; }

        public bool Removed { get; set; }
    }

    private sealed class MemoryStream<T>(MemoryStreamProvider provider, StreamId id) : IAsyncStream<T>
    {
        public StreamId StreamId => id;

        public Task OnNextAsync(T item)
        {
            provider.Enqueue(id, (token, ct) => provider._delivery.DeliverAsync(id, item, token, ct));
            return Task.CompletedTask;
        }

        public Task OnNextBatchAsync(IEnumerable<T> items)
        {
            ArgumentNullException.ThrowIfNull(items);
            foreach (var item in items)
            {
                provider.Enqueue(id, (token, ct) => provider._delivery.DeliverAsync(id, item, token, ct));
            }

            return Task.CompletedTask;
        }

        public Task<StreamSubscriptionHandle> SubscribeAsync(IAsyncObserver<T> observer) =>
            Task.FromResult(provider._delivery.Subscribe(id, observer));
    }
}
