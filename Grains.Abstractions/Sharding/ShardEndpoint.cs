namespace OrleansShards;

/// <summary>One shard as the registry records it.</summary>
/// <param name="Name">The shard's table name.</param>
/// <param name="Index">The shard's index.</param>
/// <param name="Status"><c>active</c> once the switch made it serve requests.</param>
public sealed record ShardEndpoint(string Name, int Index, string Status);
