using System.Collections.Concurrent;

namespace OrleansShards.Grains.Caching;

/// <summary>
/// The highest applied invalidation sequence of each shard in this silo. The invalidator advances
/// it; the shard reads it to stop bypassing the cache for keys whose invalidation is applied and to
/// delete outbox rows that are done.
/// </summary>
public sealed class InvalidationWatermarks
{
    private readonly ConcurrentDictionary<string, long> _applied = new(StringComparer.Ordinal);

    /// <summary>Raised after a shard's watermark advanced (shard, sequence).</summary>
    public event Action<string, long>? Advanced;

    public long Get(string shard) => _applied.TryGetValue(shard, out var value) ? value : 0;

    public void Advance(string shard, long sequence)
    {
        var updated = _applied.AddOrUpdate(shard, sequence, (_, current) => Math.Max(current, sequence));
        if (updated == sequence)
        {
            Advanced?.Invoke(shard, sequence);
        }
    }
}
