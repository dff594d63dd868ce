using Orleans;

namespace OrleansShards;

/// <summary>One shard's health as discovered.</summary>
/// <param name="Name">The shard's table name.</param>
/// <param name="Index">The shard's index.</param>
/// <param name="Status"><c>healthy</c> when it answered, else <c>unhealthy</c>.</param>
/// <param name="ResponseTimeMs">How long it took to answer a row count.</param>
/// <param name="RowCount">Rows of the sharded table it holds (0 when unhealthy).</param>
/// <param name="SizeBytes">Its file size.</param>
/// <param name="Error">Why it is unhealthy.</param>
[GenerateSerializer, Immutable, Alias("orleansshards.ShardHealth")]
public sealed record ShardHealth([Id(0)] string Name, [Id(1)] int Index, [Id(2)] string Status, [Id(3)] double ResponseTimeMs, [Id(4)] long RowCount, [Id(5)] long SizeBytes, [Id(6)] string? Error = null);
