namespace OrleansShards.Tests.SqlLogic;

/// <summary>
/// The database a script runs against; one instance per script (a fresh, empty database). The store over HTTP
/// (<see cref="SqlLogicHttpEngine"/>) is what is tested; plain SQLite in process (<see cref="SqlLogicSqliteEngine"/>)
/// checks the harness itself.
/// </summary>
internal interface ISqlLogicEngine
{
    /// <summary>Runs the SQL of a <c>statement</c> record (it may hold several statements, run in order up to the first error).</summary>
    Task<SqlLogicError?> ExecuteAsync(string sql, CancellationToken cancellationToken);

    /// <summary>Runs the SQL of a <c>query</c> record: its column count and rows, or the error.</summary>
    Task<SqlLogicAnswer> QueryAsync(string sql, CancellationToken cancellationToken);
}

/// <summary>
/// A failed statement. <see cref="FromSql"/> is true when SQLite rejected it (what a <c>statement error</c> record expects);
/// false for anything else (a refused request, a transport failure), which never counts as the expected error.
/// </summary>
internal sealed record SqlLogicError(string Code, string Message, bool FromSql)
{
    public override string ToString() => $"{Code}: {Message}";
}

/// <summary>A query's answer: the rows, or the error.</summary>
internal sealed record SqlLogicAnswer(int ColumnCount, IReadOnlyList<SqlLogicValue[]> Rows, SqlLogicError? Error = null)
{
    public static SqlLogicAnswer Failed(SqlLogicError error) => new(0, [], error);
}
