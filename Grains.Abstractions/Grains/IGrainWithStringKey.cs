namespace OrleansShards;

/// <summary>A grain addressed by a string key (for a table shard, <c>tenant:table</c>).</summary>
public interface IGrainWithStringKey : IGrain
{
}
