using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace OrleansShards.Grains.Diagnostics;

/// <summary>Last measured size of each live shard, for the capacity gauge.</summary>
public sealed class ShardCapacityRegistry
{
    private readonly ConcurrentDictionary<string, long> _sizes = new(StringComparer.Ordinal);

    /// <summary>Live shards known to the registry.</summary>
    public int Count => _sizes.Count;

    /// <summary>Records a shard's measured size.</summary>
    public void Set(string shard, long bytes) => _sizes[shard] = bytes;

    /// <summary>Forgets a deactivated shard.</summary>
    public void Remove(string shard) => _sizes.TryRemove(shard, out _);

    /// <summary>One measurement per shard (tags <c>tenant</c>, <c>shard</c>).</summary>
    internal IEnumerable<Measurement<long>> Measure() => Measure(perShard: true);

    /// <summary>One measurement per shard, or the sum per tenant (tag <c>tenant</c>) unless <paramref name="perShard"/>.</summary>
    internal IEnumerable<Measurement<long>> Measure(bool perShard)
    {
        if (perShard)
        {
            foreach (var (shard, bytes) in _sizes)
            {
                yield return new Measurement<long>(bytes, ShardMetrics.ShardTag(shard));
            }

            yield break;
        }

        var tenants = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var (shard, bytes) in _sizes)
        {
            var tenant = ShardMetrics.TenantOf(shard);
            tenants[tenant] = tenants.GetValueOrDefault(tenant) + bytes;
        }

        foreach (var (tenant, bytes) in tenants)
        {
            yield return new Measurement<long>(bytes, new KeyValuePair<string, object?>(ShardMetrics.TenantTag, tenant));
        }
    }
}
