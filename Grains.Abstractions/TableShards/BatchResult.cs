namespace OrleansShards;

/// <summary>The outcomes of an atomic batch, in statement order.</summary>
/// <param name="Results">One result per statement.</param>
/// <param name="Bookmark">The bookmark of the commit.</param>
public sealed record BatchResult(IReadOnlyList<StatementResult> Results, string? Bookmark);
