namespace OrleansShards.Grains.Storage.Native;

/// <summary>The kind of one change in a changeset; values are SQLite's authorizer codes.</summary>
internal enum ChangeOperation
{
    /// <summary>A row was deleted (SQLITE_DELETE).</summary>
    Delete = 9,
    /// <summary>A row was inserted (SQLITE_INSERT).</summary>
    Insert = 18,
    /// <summary>A row was updated in place (SQLITE_UPDATE); a primary key change is a delete plus an insert.</summary>
    Update = 23,
}
