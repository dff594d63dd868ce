namespace OrleansShards.Grains.Storage.Native;

/// <summary>
/// The limits <see cref="SqliteHardening.Apply"/> puts on a connection that runs tenant SQL.
/// Defaults follow Cloudflare Durable Objects: 100 KB statements, 100 bound parameters, 2 MB
/// strings/BLOBs/rows, no attached databases.
/// </summary>
internal sealed record SqliteHardeningOptions
{
    /// <summary>The defaults.</summary>
    public static SqliteHardeningOptions Default { get; } = new();

    /// <summary>Longest statement text in bytes (SQLITE_LIMIT_SQL_LENGTH). Default 100 KB (102 400).</summary>
    public int MaxSqlLength { get; init; } = 100 * 1024;

    /// <summary>Highest parameter number (SQLITE_LIMIT_VARIABLE_NUMBER). Default 100.</summary>
    public int MaxParameters { get; init; } = 100;

    /// <summary>
    /// Largest string, BLOB or row in bytes (SQLITE_LIMIT_LENGTH). Default 2 MB (2 097 152).
    /// It binds the engine's own statements too: raise it (<see cref="SqliteHardening.SetLimit"/>)
    /// around writing a large changeset into the change log.
    /// </summary>
    public int MaxValueLength { get; init; } = 2 * 1024 * 1024;

    /// <summary>
    /// Most attached databases (SQLITE_LIMIT_ATTACHED). Default 0, which also makes VACUUM fail
    /// (it attaches a temporary database): raise it around an engine-run VACUUM.
    /// </summary>
    public int MaxAttached { get; init; }
}
