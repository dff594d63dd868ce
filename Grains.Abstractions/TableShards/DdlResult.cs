using Orleans;

namespace OrleansShards;

/// <summary>Schema change applied.</summary>
/// <param name="Ok">Always true; failures raise <see cref="ShardException"/>.</param>
/// <param name="Bookmark">The bookmark of the commit that applied the change.</param>
[GenerateSerializer, Immutable, Alias("orleansshards.DdlResult")]
public sealed record DdlResult([Id(0)] bool Ok, [Id(1)] string? Bookmark = null);
