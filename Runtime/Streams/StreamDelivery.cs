using System.Collections.Concurrent;

namespace OrleansShards.Runtime.Streams;

/// <summary>
/// Hands one stream item to its subscribers: first every grain type implicitly subscribed to the
/// namespace (activating the grain whose key is the stream's key; the call is a writing turn), then
/// explicit subscribers of this silo. Completes when all handled it; throws if any failed, so the
/// provider redelivers (at-least-once — handlers must be idempotent).
/// </summary>
internal sealed class StreamDelivery(GrainRuntime runtime)
{
    private readonly ConcurrentDictionary<StreamId, ImmutableSubscribers> _explicit = new();

    public async Task DeliverAsync<T>(StreamId streamId, T item, StreamSequenceToken token, CancellationToken cancellationToken)
    {
        List<Exception>? failures = null;
        foreach (var grainType in runtime.Registry.GetImplicitSubscribers(streamId.Namespace))
        {
            try
            {
                await runtime.CallAsync(new GrainId(grainType, streamId.Key), readOnly: false, async grain =>
                {
                    if (grain is not IAsyncObserver<T> observer)
                    {
                        throw new InvalidOperationException(
                            $"{grain.GetType().Name} subscribes to stream namespace '{streamId.Namespace}' but does not implement IAsyncObserver<{typeof(T).Name}>.");
                    }

                    await observer.OnNextAsync(item, token).ConfigureAwait(false);
                    return true;
                }, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                (failures ??= []).Add(ex);
            }
        }

        if (_explicit.TryGetValue(streamId, out var subscribers))
        {
            foreach (var subscriber in subscribers.Items)
            {
                if (subscriber is not IAsyncObserver<T> observer)
                {
                    continue;
                }

                try
                {
                    await observer.OnNextAsync(item, token).ConfigureAwait(false);
                }
                catch (Exception ex)
                {
                    (failures ??= []).Add(ex);
                }
            }
        }

        if (failures is not null)
        {
            throw failures.Count == 1 ? failures[0] : new AggregateException(failures);
        }
    }

    public StreamSubscriptionHandle Subscribe<T>(StreamId streamId, IAsyncObserver<T> observer)
    {
        ArgumentNullException.ThrowIfNull(observer);
        _explicit.AddOrUpdate(streamId, _ => new ImmutableSubscribers([observer]), (_, s) => s.Add(observer));
        return new StreamSubscriptionHandle(streamId, () =>
        {
            while (_explicit.TryGetValue(streamId, out var current))
            {
                var next = current.Remove(observer);
                var done = next.Items.Length == 0
                    ? _explicit.TryRemove(new KeyValuePair<StreamId, ImmutableSubscribers>(streamId, current))
                    : _explicit.TryUpdate(streamId, next, current);
                if (done)
                {
                    break;
                }
            }
        });
    }

    private sealed class ImmutableSubscribers(object[] items)
    {
        public object[] Items { get; } = items;

        public ImmutableSubscribers Add(object item) => new([.. Items, item]);

        public ImmutableSubscribers Remove(object item) => new(Items.Where(i => !ReferenceEquals(i, item)).ToArray());
    }
}
