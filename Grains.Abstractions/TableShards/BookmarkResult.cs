using Orleans;

namespace OrleansShards;

/// <summary>A bookmark: an opaque string that names its shard and sorts in commit order.</summary>
/// <param name="Bookmark">The bookmark.</param>
[GenerateSerializer, Immutable, Alias("orleansshards.BookmarkResult")]
public sealed record BookmarkResult([Id(0)] string Bookmark);
