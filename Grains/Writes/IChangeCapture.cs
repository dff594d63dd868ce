using OrleansShards.Grains.Storage;

namespace OrleansShards.Grains.Writes;

/// <summary>Captures the changes of one writer transaction (the change log uses SQLite's session extension).</summary>
internal interface IChangeCapture
{
    /// <summary>
    /// Starts capturing on <paramref name="writer"/>, before the transaction's first statement.
    /// <paramref name="schemaChange"/> is true for a DDL transaction.
    /// </summary>
    IChangeCaptureScope Begin(ShardConnection writer, bool schemaChange);
}

/// <summary>One transaction's capture.</summary>
internal interface IChangeCaptureScope : IDisposable
{
    /// <summary>The changeset so far, or null when nothing changed.</summary>
    byte[]? TakeChangeset();

    /// <summary>Called right after the writer opened a work's savepoint.</summary>
    void WorkStarted()
    {
    }

    /// <summary>
    /// Rows written since the last call whose primary key held a NULL (SQLite allows it in a non-INTEGER primary key of a
    /// rowid table). Such a row cannot be captured — it has no key to log, replicate or restore by — so the writer refuses
    /// the work that wrote it.
    /// </summary>
    int TakeUnkeyedRows() => 0;

    /// <summary>Rows inserted (by the statement or a trigger) since the work started.</summary>
    int RowsInserted => 0;

    /// <summary>Called right after the writer rolled a work's savepoint back: its changes are forgotten.</summary>
    void WorkRolledBack()
    {
    }
}
