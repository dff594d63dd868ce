using Orleans;

namespace OrleansShards;

/// <summary>One shard of a sharded table.</summary>
/// <param name="Name">The shard's table name (<c>{table}__s{index}</c>); its grain key is <c>tenant:{name}</c>.</param>
/// <param name="Index">The shard's index.</param>
/// <param name="RowCount">Rows of the sharded table it holds.</param>
[GenerateSerializer, Immutable, Alias("orleansshards.ShardInfo")]
public sealed record ShardInfo([Id(0)] string Name, [Id(1)] int Index, [Id(2)] long RowCount);
