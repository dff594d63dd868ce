namespace OrleansShards;

/// <summary>The names of the sharding strategies, aggregations and rebalance modes accepted on the wire.</summary>
public static class ShardStrategies
{
    /// <summary>Consistent hashing (jump consistent hash over a stable 64-bit hash of the key): a count change moves only the rows that must move.</summary>
    public const string Hash = "hash";

    /// <summary>Split points taken from the key's quantiles, stored in the registry.</summary>
    public const string Range = "range";

    /// <summary>Keys assigned in turn; every assignment is recorded so a key can still be found.</summary>
    public const string RoundRobin = "roundRobin";

    /// <summary>A router registered in .NET code (<see cref="IShardRouter"/>).</summary>
    public const string Custom = "custom";

    /// <summary>Every known strategy.</summary>
    public static IReadOnlyList<string> All { get; } = [Hash, Range, RoundRobin, Custom];
}
