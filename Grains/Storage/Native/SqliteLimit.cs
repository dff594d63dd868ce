namespace OrleansShards.Grains.Storage.Native;

/// <summary>The per-connection run-time limits of <c>sqlite3_limit</c> (SQLITE_LIMIT_*).</summary>
internal enum SqliteLimit
{
    /// <summary>Largest string, BLOB or row, in bytes.</summary>
    Length = 0,
    /// <summary>Longest SQL statement text, in bytes.</summary>
    SqlLength = 1,
    /// <summary>Most columns in a table, index, view, result or ORDER BY.</summary>
    Column = 2,
    /// <summary>Deepest expression tree.</summary>
    ExprDepth = 3,
    /// <summary>Most terms in a compound SELECT.</summary>
    CompoundSelect = 4,
    /// <summary>Most VM instructions in one statement.</summary>
    VdbeOp = 5,
    /// <summary>Most arguments of a function.</summary>
    FunctionArg = 6,
    /// <summary>Most attached databases.</summary>
    Attached = 7,
    /// <summary>Longest LIKE or GLOB pattern.</summary>
    LikePatternLength = 8,
    /// <summary>Highest parameter index (<c>?NNN</c>).</summary>
    VariableNumber = 9,
    /// <summary>Deepest trigger recursion.</summary>
    TriggerDepth = 10,
    /// <summary>Most auxiliary worker threads per statement.</summary>
    WorkerThreads = 11,
}
