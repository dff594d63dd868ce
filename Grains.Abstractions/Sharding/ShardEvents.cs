namespace OrleansShards;

/// <summary>Names of the sharding event stream and event types.</summary>
public static class ShardEvents
{
    /// <summary>The stream namespace.</summary>
    public const string StreamNamespace = "shard-events";

    /// <summary>The stream provider's name.</summary>
    public const string StreamProvider = "default";

    /// <summary>An operation began.</summary>
    public const string Started = "shard.started";

    /// <summary>An operation switched and finished.</summary>
    public const string Completed = "shard.completed";

    /// <summary>An operation failed, or was rolled back after a crash.</summary>
    public const string Failed = "shard.failed";
}
