namespace OrleansShards.Grains.Sharding;

/// <summary>What the switch did.</summary>
/// <param name="StallMs">How long the base table held writes (the exclusive switch turn, up to the live shards' commit step).</param>
/// <param name="RowsMoved">Rows of the sharded table that changed place.</param>
/// <param name="FinalKeys">Keys re-synchronised by the final catch-up.</param>
internal sealed record SwitchOutcome(long StallMs, long RowsMoved, int FinalKeys)
{
    /// <summary>The cleanup after the switch (removed shards deleted, base emptied, journal cleared); writes already flow.</summary>
    public Task Cleanup { get; init; } = Task.CompletedTask;
}
