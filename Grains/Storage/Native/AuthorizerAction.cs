namespace OrleansShards.Grains.Storage.Native;

/// <summary>
/// The action SQLite asks about while preparing a statement (SQLite's authorizer action codes).
/// The comment on each member names what <see cref="AuthorizerRequest.Arg1"/> and
/// <see cref="AuthorizerRequest.Arg2"/> hold.
/// </summary>
internal enum AuthorizerAction
{
    /// <summary>Unused by SQLite.</summary>
    Copy = 0,
    /// <summary>Index name, table name.</summary>
    CreateIndex = 1,
    /// <summary>Table name, NULL.</summary>
    CreateTable = 2,
    /// <summary>Index name, table name.</summary>
    CreateTempIndex = 3,
    /// <summary>Table name, NULL.</summary>
    CreateTempTable = 4,
    /// <summary>Trigger name, table name.</summary>
    CreateTempTrigger = 5,
    /// <summary>View name, NULL.</summary>
    CreateTempView = 6,
    /// <summary>Trigger name, table name.</summary>
    CreateTrigger = 7,
    /// <summary>View name, NULL.</summary>
    CreateView = 8,
    /// <summary>Table name, NULL.</summary>
    Delete = 9,
    /// <summary>Index name, table name.</summary>
    DropIndex = 10,
    /// <summary>Table name, NULL.</summary>
    DropTable = 11,
    /// <summary>Index name, table name.</summary>
    DropTempIndex = 12,
    /// <summary>Table name, NULL.</summary>
    DropTempTable = 13,
    /// <summary>Trigger name, table name.</summary>
    DropTempTrigger = 14,
    /// <summary>View name, NULL.</summary>
    DropTempView = 15,
    /// <summary>Trigger name, table name.</summary>
    DropTrigger = 16,
    /// <summary>View name, NULL.</summary>
    DropView = 17,
    /// <summary>Table name, NULL.</summary>
    Insert = 18,
    /// <summary>Pragma name, its argument or NULL.</summary>
    Pragma = 19,
    /// <summary>Table name, column name (empty when no column is read, as in <c>count(*)</c>).</summary>
    Read = 20,
    /// <summary>NULL, NULL.</summary>
    Select = 21,
    /// <summary>Operation (BEGIN, COMMIT, ROLLBACK), NULL.</summary>
    Transaction = 22,
    /// <summary>Table name, column name.</summary>
    Update = 23,
    /// <summary>File name, NULL.</summary>
    Attach = 24,
    /// <summary>Database name, NULL.</summary>
    Detach = 25,
    /// <summary>Database name, table name.</summary>
    AlterTable = 26,
    /// <summary>Index name, NULL.</summary>
    Reindex = 27,
    /// <summary>Table name, NULL.</summary>
    Analyze = 28,
    /// <summary>Table name, module name.</summary>
    CreateVtable = 29,
    /// <summary>Table name, module name.</summary>
    DropVtable = 30,
    /// <summary>NULL, function name.</summary>
    Function = 31,
    /// <summary>Operation (BEGIN, RELEASE, ROLLBACK), savepoint name.</summary>
    Savepoint = 32,
    /// <summary>NULL, NULL: a recursive CTE.</summary>
    Recursive = 33,
}
