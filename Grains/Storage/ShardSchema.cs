namespace OrleansShards.Grains.Storage;

/// <summary>
/// The engine's internal tables, versioned with <c>PRAGMA user_version</c>. Every internal name
/// starts with <c>_</c>; the authorizer hides such tables from tenant SQL.
/// </summary>
internal static class ShardSchema
{
    public const int CurrentVersion = 2;

    /// <summary>Migrations by target version; each runs inside one transaction with the version bump.</summary>
    private static readonly string[] Migrations =
    [
        // v1
        """
        CREATE TABLE IF NOT EXISTS _meta(key TEXT PRIMARY KEY, value) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS _changes(
            seq INTEGER PRIMARY KEY,
            at_ms INTEGER NOT NULL,
            kind INTEGER NOT NULL,
            changeset BLOB,
            ddl TEXT);
        CREATE INDEX IF NOT EXISTS _changes_at ON _changes(at_ms);
        CREATE TABLE IF NOT EXISTS _outbox(seq INTEGER PRIMARY KEY, payload BLOB NOT NULL);
        CREATE TABLE IF NOT EXISTS _idempotency(key TEXT PRIMARY KEY, at_ms INTEGER NOT NULL, outcome TEXT NOT NULL) WITHOUT ROWID;
        CREATE INDEX IF NOT EXISTS _idempotency_at ON _idempotency(at_ms);
        CREATE TABLE IF NOT EXISTS _events(
            id INTEGER PRIMARY KEY,
            at_ms INTEGER NOT NULL,
            type TEXT NOT NULL,
            correlation_id TEXT,
            payload TEXT);
        INSERT OR IGNORE INTO _meta(key, value) VALUES ('commit:seq', 0);
        """,
        // v2: restore entries (kind 2) name the sequence whose state they restored.
        """
        ALTER TABLE _changes ADD COLUMN restored_to INTEGER;
        """,
    ];

    /// <summary>Brings the file to <see cref="CurrentVersion"/>; refuses files from a newer engine.</summary>
    public static void Migrate(ShardConnection writer)
    {
        var version = writer.ExecuteScalar("PRAGMA user_version");
        if (version > CurrentVersion)
        {
            throw new InvalidOperationException(
                $"Shard file {writer.Path} has schema version {version}; this engine supports up to {CurrentVersion}.");
        }

        for (var target = (int)version + 1; target <= CurrentVersion; target++)
        {
            writer.Execute("BEGIN IMMEDIATE");
            try
            {
                writer.Execute(Migrations[target - 1]);
                writer.Execute($"PRAGMA user_version = {target}");
                writer.Execute("COMMIT");
            }
            catch
            {
                writer.Execute("ROLLBACK");
                throw;
            }
        }
    }
}
