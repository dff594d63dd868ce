using Orleans;

namespace OrleansShards;

/// <summary>The outcomes of an atomic batch, in statement order.</summary>
/// <param name="Results">One result per statement.</param>
/// <param name="Bookmark">The bookmark of the commit.</param>
[GenerateSerializer, Immutable, Alias("orleansshards.BatchResult")]
public sealed record BatchResult([Id(0)] IReadOnlyList<StatementResult> Results, [Id(1)] string? Bookmark);
