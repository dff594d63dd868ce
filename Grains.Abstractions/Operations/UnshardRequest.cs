using Orleans;

namespace OrleansShards;

/// <summary>Options of an unshard.</summary>
/// <param name="OperationId">The id to record the operation under (see <see cref="IOperationGrain"/>); null: a new one.</param>
[GenerateSerializer, Immutable, Alias("orleansshards.UnshardRequest")]
public sealed record UnshardRequest([Id(0)] string? OperationId = null);
