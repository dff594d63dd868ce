namespace OrleansShards;

/// <summary>A bookmark: an opaque string that names its shard and sorts in commit order.</summary>
/// <param name="Bookmark">The bookmark.</param>
public sealed record BookmarkResult(string Bookmark);
