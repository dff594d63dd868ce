namespace OrleansShards;

/// <summary>Where an answer came from and how old it is.</summary>
/// <param name="ServedBy"><c>shard</c>, <c>cache</c> or <c>cache-stale</c>.</param>
/// <param name="AgeMs">Milliseconds since the state answered was current (0 from the shard).</param>
/// <param name="Bookmark">The bookmark of the newest commit the answer reflects.</param>
public sealed record QueryMeta(string ServedBy, long AgeMs, string? Bookmark);
