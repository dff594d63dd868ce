namespace OrleansShards.Grains.Storage.Native;

/// <summary>An authorizer decision; values are SQLite's (SQLITE_OK, SQLITE_DENY, SQLITE_IGNORE).</summary>
internal enum AuthorizerResult
{
    /// <summary>Allow the action.</summary>
    Ok = 0,
    /// <summary>Fail the whole statement at prepare time with SQLITE_AUTH ("not authorized").</summary>
    Deny = 1,
    /// <summary>Silently drop the action: a read yields NULL, other actions are skipped.</summary>
    Ignore = 2,
}
