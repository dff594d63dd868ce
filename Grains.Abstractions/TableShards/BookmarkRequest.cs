namespace OrleansShards;

/// <summary>Asks for a bookmark: the current one, or the newest commit at or before <paramref name="At"/>.</summary>
/// <param name="At">Unix milliseconds; null for the current bookmark.</param>
public sealed record BookmarkRequest(long? At = null);
