using Orleans;

namespace OrleansShards;

/// <summary>How rows are spread over the shards.</summary>
/// <param name="Total">Rows in all shards.</param>
/// <param name="Min">Rows in the smallest shard.</param>
/// <param name="Max">Rows in the largest shard.</param>
/// <param name="Avg">Mean rows per shard.</param>
/// <param name="StdDev">Population standard deviation of rows per shard.</param>
/// <param name="SkewRatio"><paramref name="Max"/> / <paramref name="Avg"/> (1 is perfectly even; 0 when empty).</param>
[GenerateSerializer, Immutable, Alias("orleansshards.ShardDistributionStats")]
public sealed record ShardDistributionStats([Id(0)] long Total, [Id(1)] long Min, [Id(2)] long Max, [Id(3)] double Avg, [Id(4)] double StdDev, [Id(5)] double SkewRatio)
{
    /// <summary>Computes the figures of <paramref name="rowCounts"/>.</summary>
    public static ShardDistributionStats Of(IReadOnlyList<long> rowCounts)
    {
        ArgumentNullException.ThrowIfNull(rowCounts);
        if (rowCounts.Count == 0)
        {
            return new ShardDistributionStats(0, 0, 0, 0, 0, 0);
        }

        long total = 0, min = long.MaxValue, max = long.MinValue;
        foreach (var count in rowCounts)
        {
            total += count;
            min = Math.Min(min, count);
            max = Math.Max(max, count);
        }

        var avg = (double)total / rowCounts.Count;
        var variance = 0.0;
        foreach (var count in rowCounts)
        {
            variance += (count - avg) * (count - avg);
        }

        var stdDev = Math.Sqrt(variance / rowCounts.Count);
        return new ShardDistributionStats(total, min, max, avg, stdDev, avg == 0 ? 0 : max / avg);
    }
}
