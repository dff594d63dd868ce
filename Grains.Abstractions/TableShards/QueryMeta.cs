using Orleans;

namespace OrleansShards;

/// <summary>Where an answer came from and how old it is.</summary>
/// <param name="ServedBy"><c>shard</c>, <c>cache</c> or <c>cache-stale</c>.</param>
/// <param name="AgeMs">Milliseconds since the state answered was current (0 from the shard).</param>
/// <param name="Bookmark">The bookmark of the newest commit the answer reflects.</param>
[GenerateSerializer, Immutable, Alias("orleansshards.QueryMeta")]
public sealed record QueryMeta([Id(0)] string ServedBy, [Id(1)] long AgeMs, [Id(2)] string? Bookmark);
