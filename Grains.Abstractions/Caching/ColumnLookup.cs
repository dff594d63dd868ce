namespace OrleansShards;

/// <summary>One lookup of rows by an indexed column's value.</summary>
/// <param name="Column">The indexed column.</param>
/// <param name="Value">The value.</param>
public sealed record ColumnLookup(string Column, SqlValue Value);
