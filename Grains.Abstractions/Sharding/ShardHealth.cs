namespace OrleansShards;

/// <summary>One shard's health as discovered.</summary>
/// <param name="Name">The shard's table name.</param>
/// <param name="Index">The shard's index.</param>
/// <param name="Status"><c>healthy</c> when it answered, else <c>unhealthy</c>.</param>
/// <param name="ResponseTimeMs">How long it took to answer a row count.</param>
/// <param name="RowCount">Rows of the sharded table it holds (0 when unhealthy).</param>
/// <param name="SizeBytes">Its file size.</param>
/// <param name="Error">Why it is unhealthy.</param>
public sealed record ShardHealth(string Name, int Index, string Status, double ResponseTimeMs, long RowCount, long SizeBytes, string? Error = null);
