namespace OrleansShards;

/// <summary>The outcome of one statement of a batch or transaction.</summary>
/// <param name="Changes">Rows changed (0 for reads).</param>
/// <param name="LastInsertRowId">The rowid of the last inserted row.</param>
/// <param name="Columns">Column names when the statement returned rows; otherwise null.</param>
/// <param name="Rows">Rows when the statement returned rows; otherwise null.</param>
public sealed record StatementResult(
    long Changes,
    long LastInsertRowId,
    IReadOnlyList<string>? Columns = null,
    IReadOnlyList<SqlValue[]>? Rows = null);
