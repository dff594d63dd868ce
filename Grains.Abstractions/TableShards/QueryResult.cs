using Orleans;

namespace OrleansShards;

/// <summary>The rows of a read.</summary>
/// <param name="Columns">Column names in result order.</param>
/// <param name="Rows">Each row's values in column order.</param>
/// <param name="RowsRead">Rows SQLite visited to produce the answer (0 when served from cache).</param>
/// <param name="Meta">Provenance of the answer.</param>
[GenerateSerializer, Immutable, Alias("orleansshards.QueryResult")]
public sealed record QueryResult(
    [Id(0)] IReadOnlyList<string> Columns,
    [Id(1)] IReadOnlyList<SqlValue[]> Rows,
    [Id(2)] long RowsRead,
    [Id(3)] QueryMeta Meta);
