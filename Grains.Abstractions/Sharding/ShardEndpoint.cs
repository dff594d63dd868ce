using Orleans;

namespace OrleansShards;

/// <summary>One shard as the registry records it.</summary>
/// <param name="Name">The shard's table name.</param>
/// <param name="Index">The shard's index.</param>
/// <param name="Status"><c>active</c> once the switch made it serve requests.</param>
[GenerateSerializer, Immutable, Alias("orleansshards.ShardEndpoint")]
public sealed record ShardEndpoint([Id(0)] string Name, [Id(1)] int Index, [Id(2)] string Status);
