using Orleans;

namespace OrleansShards;

/// <summary>The outcome of a restore.</summary>
/// <param name="RestoredTo">The bookmark whose state is now current.</param>
/// <param name="UndoBookmark">Restoring this bookmark returns to the state before the restore.</param>
/// <param name="OperationId">The id of the operation's record (<c>GET /v1/operations/{id}</c>).</param>
[GenerateSerializer, Immutable, Alias("orleansshards.RestoreResult")]
public sealed record RestoreResult([Id(0)] string RestoredTo, [Id(1)] string UndoBookmark, [Id(2)] string? OperationId = null);
