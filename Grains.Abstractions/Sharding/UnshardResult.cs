namespace OrleansShards;

/// <summary>The outcome of merging a table's shards back into one.</summary>
/// <param name="RowCount">Rows of the table after the merge.</param>
/// <param name="RowsMoved">Rows copied back from the shards.</param>
/// <param name="ShardsMerged">How many shards were merged and removed.</param>
/// <param name="DurationMs">Wall time of the operation.</param>
/// <param name="StallMs">How long writes were held for the final switch.</param>
/// <param name="CorrelationId">The id carried by the operation's events.</param>
public sealed record UnshardResult(long RowCount, long RowsMoved, int ShardsMerged, long DurationMs, long StallMs, string CorrelationId);
