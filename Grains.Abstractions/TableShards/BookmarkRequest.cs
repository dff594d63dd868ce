using Orleans;

namespace OrleansShards;

/// <summary>Asks for a bookmark: the current one, or the newest commit at or before <paramref name="At"/>.</summary>
/// <param name="At">Unix milliseconds; null for the current bookmark.</param>
[GenerateSerializer, Immutable, Alias("orleansshards.BookmarkRequest")]
public sealed record BookmarkRequest([Id(0)] long? At = null);
