namespace OrleansShards.Grains.Caching;

/// <summary>The invalidation stream: namespace <c>invalidation</c>, key = shard key.</summary>
internal static class InvalidationStream
{
    public const string Namespace = "invalidation";
}
