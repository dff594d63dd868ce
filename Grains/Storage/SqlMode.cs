namespace OrleansShards.Grains.Storage;

/// <summary>Who is running SQL on a connection right now; the authorizer decides by it.</summary>
internal enum SqlMode
{
    /// <summary>The engine itself: internal tables, transaction control, pragmas.</summary>
    Internal,
    /// <summary>A tenant read: SELECT on tenant tables, allow-listed read-only PRAGMAs.</summary>
    TenantRead,
    /// <summary>A tenant write: DML on tenant tables; no schema changes, no transaction control.</summary>
    TenantWrite,
    /// <summary>A tenant DDL call: schema changes on tenant objects too.</summary>
    TenantDdl,
}
