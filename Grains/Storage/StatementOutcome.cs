namespace OrleansShards.Grains.Storage;

/// <summary>What one statement did: rows changed, last rowid, and rows when it returned any.</summary>
internal readonly record struct StatementOutcome(long Changes, long LastInsertRowId, string[]? Columns, List<SqlValue[]>? Rows, long RowsRead)
{
    public StatementResult ToResult() => new(Changes, LastInsertRowId, Columns, Rows);
}
