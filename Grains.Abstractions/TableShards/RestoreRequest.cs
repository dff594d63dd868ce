using Orleans;

namespace OrleansShards;

/// <summary>Restores the shard to exactly the state of a bookmark.</summary>
/// <param name="Bookmark">A bookmark of this shard inside the retention window.</param>
[GenerateSerializer, Immutable, Alias("orleansshards.RestoreRequest")]
public sealed record RestoreRequest([Id(0)] string Bookmark);
