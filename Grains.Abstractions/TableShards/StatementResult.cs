using Orleans;

namespace OrleansShards;

/// <summary>The outcome of one statement of a batch or transaction.</summary>
/// <param name="Changes">Rows changed (0 for reads).</param>
/// <param name="LastInsertRowId">The rowid of the last inserted row.</param>
/// <param name="Columns">Column names when the statement returned rows; otherwise null.</param>
/// <param name="Rows">Rows when the statement returned rows; otherwise null.</param>
[GenerateSerializer, Immutable, Alias("orleansshards.StatementResult")]
public sealed record StatementResult(
    [Id(0)] long Changes,
    [Id(1)] long LastInsertRowId,
    [Id(2)] IReadOnlyList<string>? Columns = null,
    [Id(3)] IReadOnlyList<SqlValue[]>? Rows = null);
