namespace OrleansShards.Grains.Sharding;

/// <summary>
/// Identifies this silo process (one per service container). An operation journal owned by another id belongs to a
/// process that stopped mid-operation, so the base table resolves it on activation.
/// </summary>
internal sealed class ShardingHostId
{
    public string Value { get; } = Guid.NewGuid().ToString("N");
}
