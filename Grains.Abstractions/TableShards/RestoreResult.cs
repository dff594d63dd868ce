namespace OrleansShards;

/// <summary>The outcome of a restore.</summary>
/// <param name="RestoredTo">The bookmark whose state is now current.</param>
/// <param name="UndoBookmark">Restoring this bookmark returns to the state before the restore.</param>
public sealed record RestoreResult(string RestoredTo, string UndoBookmark);
