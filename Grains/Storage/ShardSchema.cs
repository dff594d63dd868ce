namespace OrleansShards.Grains.Storage;

/// <summary>
/// The engine's internal tables, versioned with <c>PRAGMA user_version</c>. Every internal name
/// starts with <c>_</c>; the authorizer hides such tables from tenant SQL.
/// </summary>
internal static class ShardSchema
{
    public const int CurrentVersion = 4;

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
        // v3: no index on _changes(at_ms) (one B-tree page less per commit): at_ms never decreases along seq, so
        // time lookups binary-search the rowid (ChangeLog.LatestAtOrBefore). 'commit:seq' is no longer updated per
        // commit; the current sequence is max(commit:seq, max(seq) of _changes) (ChangeLog.CurrentSequence).
        // Pin the value now so files whose log was pruned keep theirs.
        """
        DROP INDEX IF EXISTS _changes_at;
        INSERT OR REPLACE INTO _meta(key, value)
            SELECT 'commit:seq', max(coalesce((SELECT value FROM _meta WHERE key = 'commit:seq'), 0), coalesce((SELECT max(seq) FROM _changes), 0));
        """,
        // v4: the epoch of the primary that wrote each entry (0 embedded and before replication). Two copies whose
        // logs hold the same (seq, epoch) hold the same entries up to seq: a replica catches up from its tail.
        """
        ALTER TABLE _changes ADD COLUMN epoch INTEGER NOT NULL DEFAULT 0;
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
