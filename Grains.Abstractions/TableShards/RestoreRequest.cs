namespace OrleansShards;

/// <summary>Restores the shard to exactly the state of a bookmark.</summary>
/// <param name="Bookmark">A bookmark of this shard inside the retention window.</param>
public sealed record RestoreRequest(string Bookmark);
