using Orleans;

namespace OrleansShards;

/// <summary>Restores the shard to exactly the state of a bookmark.</summary>
/// <param name="Bookmark">A bookmark of this shard inside the retention window.</param>
/// <param name="OperationId">The id to record the operation under (see <see cref="IOperationGrain"/>); null: a new one.</param>
[GenerateSerializer, Immutable, Alias("orleansshards.RestoreRequest")]
public sealed record RestoreRequest([Id(0)] string Bookmark, [Id(1)] string? OperationId = null);
