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
    /// <summary>
    /// The engine writing tenant tables (rows moved by sharding): its own statements pass, but whatever a tenant
    /// trigger fired by them does is judged as a tenant write, so a trigger never runs with the engine's rights.
    /// </summary>
    Engine,
}
