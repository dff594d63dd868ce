namespace OrleansShards;

/// <summary>The kinds of long operations that get an operation id.</summary>
public static class OperationKinds
{
    /// <summary>A point-in-time restore of one table shard.</summary>
    public const string Restore = "restore";

    /// <summary>Splitting a table into shards.</summary>
    public const string Shard = "shard";

    /// <summary>Merging a table's shards back.</summary>
    public const string Unshard = "unshard";

    /// <summary>Moving rows between a table's shards.</summary>
    public const string Rebalance = "rebalance";

    /// <summary>A drain of a silo in cluster mode (<c>POST /v1/cluster/drain</c>); an operator's operation (no tenant).</summary>
    public const string Drain = "drain";

    /// <summary>
    /// Evening out the primaries of the cluster's silos (<c>POST /v1/cluster/rebalance</c>); an operator's operation.
    /// </summary>
    public const string ClusterRebalance = "cluster-rebalance";
}
