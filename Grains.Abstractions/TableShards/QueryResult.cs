namespace OrleansShards;

/// <summary>The rows of a read.</summary>
/// <param name="Columns">Column names in result order.</param>
/// <param name="Rows">Each row's values in column order.</param>
/// <param name="RowsRead">Rows SQLite visited to produce the answer (0 when served from cache).</param>
/// <param name="Meta">Provenance of the answer.</param>
public sealed record QueryResult(
    IReadOnlyList<string> Columns,
    IReadOnlyList<SqlValue[]> Rows,
    long RowsRead,
    QueryMeta Meta);
