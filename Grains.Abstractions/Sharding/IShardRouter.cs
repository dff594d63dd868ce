namespace OrleansShards;

/// <summary>
/// A custom shard router, registered in .NET code under a name (<c>services.AddShardRouter("name", router)</c>)
/// and chosen with strategy <c>custom</c>. It must be deterministic: the same key and count always give the same shard.
/// </summary>
public interface IShardRouter
{
    /// <summary>The shard index, in [0, <paramref name="shardCount"/>), of a row whose shard key is <paramref name="key"/>.</summary>
    int GetShard(SqlValue key, int shardCount);
}
