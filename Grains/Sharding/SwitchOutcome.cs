using Orleans.Concurrency;

namespace OrleansShards.Grains.Sharding;

/// <summary>What the switch did.</summary>
/// <param name="StallMs">How long the base table held writes (the exclusive switch turn, up to the live shards' commit step).</param>
/// <param name="RowsMoved">Rows of the sharded table that changed place.</param>
/// <param name="FinalKeys">Keys re-synchronised by the final catch-up.</param>
[GenerateSerializer, Immutable, Alias("orleansshards.sharding.SwitchOutcome")]
internal sealed record SwitchOutcome([Id(0)] long StallMs, [Id(1)] long RowsMoved, [Id(2)] int FinalKeys);
