using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace OrleansShards.Grains.Diagnostics;

/// <summary>Last measured size of each live shard, for the capacity gauge.</summary>
public sealed class ShardCapacityRegistry
{
    private readonly ConcurrentDictionary<string, long> _sizes = new(StringComparer.Ordinal);

    /// <summary>Records a shard's measured size.</summary>
    public void Set(string shard, long bytes) => _sizes[shard] = bytes;

    /// <summary>Forgets a deactivated shard.</summary>
    public void Remove(string shard) => _sizes.TryRemove(shard, out _);

    internal IEnumerable<Measurement<long>> Measure()
    {
        foreach (var (shard, bytes) in _sizes)
        {
            yield return new Measurement<long>(bytes, new KeyValuePair<string, object?>("shard", shard));
        }
    }
}
