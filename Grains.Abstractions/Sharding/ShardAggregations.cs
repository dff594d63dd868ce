namespace OrleansShards;

/// <summary>How <see cref="IShardRegistry.QueryShardsAsync"/> combines the shards' answers.</summary>
public static class ShardAggregations
{
    /// <summary>The union of every shard's rows without duplicate rows (SQL <c>UNION</c>).</summary>
    public const string Merge = "merge";

    /// <summary>Every shard's rows, in shard order (SQL <c>UNION ALL</c>).</summary>
    public const string Concat = "concat";

    /// <summary>Column-wise sum of the numeric columns of every returned row; one row.</summary>
    public const string Sum = "sum";

    /// <summary>How many rows the query returns across all shards (each shard runs <c>SELECT count(*) FROM (query)</c>).</summary>
    public const string Count = "count";

    /// <summary>
    /// The exact mean of the query's single column over all shards: each shard returns the sum and the count of
    /// the column's non-NULL values, the registry divides the total sum by the total count.
    /// </summary>
    public const string Avg = "avg";

    /// <summary>Every known aggregation.</summary>
    public static IReadOnlyList<string> All { get; } = [Merge, Concat, Sum, Count, Avg];
}
