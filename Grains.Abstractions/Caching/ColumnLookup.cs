using Orleans;

namespace OrleansShards;

/// <summary>One lookup of rows by an indexed column's value.</summary>
/// <param name="Column">The indexed column.</param>
/// <param name="Value">The value.</param>
[GenerateSerializer, Immutable, Alias("orleansshards.ColumnLookup")]
public sealed record ColumnLookup([Id(0)] string Column, [Id(1)] SqlValue Value);
