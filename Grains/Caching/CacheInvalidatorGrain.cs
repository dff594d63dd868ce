using Microsoft.Extensions.Logging;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Orleans.Streams;
using Orleans.Streams.Core;
using OrleansShards.Grains.Hosting;

namespace OrleansShards.Grains.Caching;

/// <summary>
/// Applies the invalidation events of one shard (same key, <c>tenant:table</c>), delivered by the
/// invalidation stream (implicit subscription) in commit order. Keys are tombstoned in batches with
/// the event's sequence (a flush removes the table's row and index entries older than the event); neither
/// touches an entry stored at or after the event's commit. An event at or below the watermark is a duplicate and skipped. A failed
/// batch throws, so the stream delivers the event again (at-least-once; tombstones make the retry
/// harmless). The commit→delete latency of every applied event is recorded.
/// </summary>
[ImplicitStreamSubscription(InvalidationStream.Namespace)]
internal sealed partial class CacheInvalidatorGrain(
    ICacheStore store,
    IOptions<ShardCacheOptions> options,
    CacheMetrics metrics,
    InvalidationWatermarks watermarks,
    [FromKeyedServices(ShardClock.ServiceKey)] TimeProvider clock,
    ILogger<CacheInvalidatorGrain> logger) : Grain, ICacheInvalidator, IStreamSubscriptionObserver, IAsyncObserver<InvalidationEvent>
{
    private readonly ShardCacheOptions _options = options.Value;
    private readonly ILogger _logger = logger;
    private string _shard = null!;
    private string _tenant = null!;
    private string _table = null!;
    private long _watermark;
    private long _applied;
    private long _duplicates;
    private long _keys;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _shard = this.GetPrimaryKeyString();
        (_tenant, _table) = ShardName.Parse(_shard);
        _watermark = watermarks.Get(_shard);
        return Task.CompletedTask;
    }

    /// <summary>The implicit subscription to this shard's invalidation stream: events arrive at <see cref="OnNextAsync"/>.</summary>
    public async Task OnSubscribed(IStreamSubscriptionHandleFactory handleFactory)
    {
        await handleFactory.Create<InvalidationEvent>().ResumeAsync(this);
    }

    public Task OnNextAsync(InvalidationEvent item, StreamSequenceToken? token = null) => InvalidateAsync(item);

    public Task OnCompletedAsync() => Task.CompletedTask;

    public Task OnErrorAsync(Exception ex)
    {
        LogStreamError(ex, _shard);
        return Task.CompletedTask;
    }

    public async Task InvalidateAsync(InvalidationEvent invalidation)
    {
        ArgumentNullException.ThrowIfNull(invalidation);
        if (!string.Equals(invalidation.Shard, _shard, StringComparison.Ordinal))
        {
            throw new ShardException(ShardErrorCode.InvalidArgument, $"The event belongs to shard {invalidation.Shard}, not {_shard}.");
        }

        if (invalidation.Sequence <= _watermark)
        {
            _duplicates++;
            return;
        }

        try
        {
            if (invalidation.Flush)
            {
                foreach (var prefix in CacheKeys.TablePrefixes(_tenant, _table))
                {
                    // Only entries older than the event: the flush may arrive after a warm or populate that already
                    // reflects its commit (the stream delivers late under load), and that entry stays.
                    await store.RemoveByPrefixAsync(prefix, invalidation.Sequence);
                }
            }

            var keys = invalidation.Keys;
            for (var start = 0; start < keys.Count; start += _options.InvalidationBatchSize)
            {
                var batch = keys.Skip(start).Take(_options.InvalidationBatchSize).ToList();
                await store.InvalidateManyAsync(batch, invalidation.Sequence, _options.EntryLifetime);
            }
        }
        catch (CacheUnavailableException ex)
        {
            LogDeferred(ex, _shard, invalidation.Sequence);
            throw new ShardException(ShardErrorCode.Retryable, $"The cache store is unavailable; invalidation {invalidation.Sequence} of {_shard} will be delivered again.", ex);
        }

        _watermark = invalidation.Sequence;
        _applied++;
        _keys += invalidation.Keys.Count;
        var latency = Math.Max(0, clock.GetUtcNow().ToUnixTimeMilliseconds() - invalidation.CommittedAtUnixMs);
        metrics.Invalidated(_shard, invalidation.Keys.Count, latency);
        watermarks.Advance(_shard, invalidation.Sequence);
    }

    public Task<InvalidatorStats> GetStatsAsync()
    {
        var (p50, p95, p99) = metrics.LatencyOf(_shard);
        return Task.FromResult(new InvalidatorStats(_shard, _watermark, _applied, _duplicates, _keys, p50, p95, p99));
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The invalidation stream of shard {Shard} reported an error")]
    private partial void LogStreamError(Exception exception, string shard);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Invalidation {Sequence} of shard {Shard} not applied: the cache store is unavailable; it will be redelivered")]
    private partial void LogDeferred(Exception exception, string shard, long sequence);
}
