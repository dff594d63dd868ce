using Orleans;

namespace OrleansShards;

/// <summary>The outcome of a warm call.</summary>
/// <param name="Warmed">Entries read from the shard and written to the cache.</param>
/// <param name="Skipped">Entries not written (no cache configured, a newer invalidation won, or the lookup failed).</param>
[GenerateSerializer, Immutable, Alias("orleansshards.WarmResult")]
public sealed record WarmResult([Id(0)] int Warmed, [Id(1)] int Skipped);
