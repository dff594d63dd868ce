using Orleans;

namespace OrleansShards;

/// <summary>How fresh a read must be. See the README's "Consistency modes".</summary>
[GenerateSerializer, Alias("orleansshards.Consistency")]
[System.Text.Json.Serialization.JsonConverter(typeof(ConsistencyJsonConverter))]
public enum Consistency
{
    /// <summary>Served by the shard itself: always the latest committed state.</summary>
    Strong = 0,
    /// <summary>A cache entry no older than <c>maxStalenessMs</c> may answer; otherwise the shard.</summary>
    Bounded = 1,
    /// <summary>The cache answers when it holds the entry (within TTL and stale window); the shard on a miss.</summary>
    Cached = 2,
}
