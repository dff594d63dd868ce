using Orleans;
using Orleans.Concurrency;

namespace OrleansShards;

/// <summary>
/// Deletes the cached entries of one shard (keyed like the shard, <c>tenant:table</c>) when its
/// commits change them. It is implicitly subscribed to the invalidation stream of its shard, so
/// events normally arrive through the stream; <see cref="InvalidateAsync"/> applies one directly.
/// </summary>
/// <remarks>
/// Guarantees: at-least-once (an event whose deletes failed is not acknowledged and is delivered
/// again); idempotent (an event at or below the shard's sequence watermark is skipped, and each
/// delete is a tombstone carrying the event's sequence, so a replayed old event never removes a
/// newer entry); deletes are sent in batches.
/// </remarks>
[Alias("orleansshards.ICacheInvalidator")]
public interface ICacheInvalidator : IGrainWithStringKey
{
    /// <summary>
    /// Applies one invalidation event: tombstones its keys (or every entry of the table when
    /// <see cref="InvalidationEvent.Flush"/>) and advances the watermark. Completes when the deletes
    /// are applied by the cache store.
    /// </summary>
    /// <exception cref="ShardException"><c>RETRYABLE</c> when the cache store is unavailable; the event is not applied and must be sent again.</exception>
    /// <exception cref="ShardException"><c>INVALID_ARGUMENT</c> when the event belongs to another shard.</exception>
    [Alias("InvalidateAsync")]
    Task InvalidateAsync(InvalidationEvent invalidation);

    /// <summary>The invalidator's watermark, counts and commit→delete latency percentiles.</summary>
    [ReadOnly]
    [Alias("GetStatsAsync")]
    Task<InvalidatorStats> GetStatsAsync();
}
