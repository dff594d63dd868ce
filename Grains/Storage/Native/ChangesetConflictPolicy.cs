namespace OrleansShards.Grains.Storage.Native;

/// <summary>
/// How <see cref="Changeset.Apply"/> resolves each kind of conflict SQLite reports. Construction
/// rejects combinations SQLite forbids (REPLACE is only valid for data and conflict conflicts).
/// </summary>
internal sealed record ChangesetConflictPolicy
{
    /// <summary>Creates a policy.</summary>
    /// <param name="data">An update or delete found the row but its old values differ (SQLITE_CHANGESET_DATA).</param>
    /// <param name="notFound">An update or delete found no row with that primary key (SQLITE_CHANGESET_NOTFOUND).</param>
    /// <param name="conflict">An insert found a row with the same primary key (SQLITE_CHANGESET_CONFLICT).</param>
    /// <param name="constraint">A change broke a UNIQUE, CHECK or NOT NULL constraint (SQLITE_CHANGESET_CONSTRAINT).</param>
    /// <param name="foreignKey">Foreign keys were violated at the end (SQLITE_CHANGESET_FOREIGN_KEY).</param>
    /// <exception cref="ArgumentException">REPLACE was given for a kind that does not allow it.</exception>
    public ChangesetConflictPolicy(
        ConflictResolution data,
        ConflictResolution notFound,
        ConflictResolution conflict,
        ConflictResolution constraint,
        ConflictResolution foreignKey)
    {
        RejectReplace(notFound, nameof(notFound));
        RejectReplace(constraint, nameof(constraint));
        RejectReplace(foreignKey, nameof(foreignKey));
        Data = data;
        NotFound = notFound;
        Conflict = conflict;
        Constraint = constraint;
        ForeignKey = foreignKey;
    }

    /// <summary>
    /// Point-in-time replay onto a snapshot: the log is the truth, so data and primary-key
    /// conflicts are overwritten, changes to rows that are gone are skipped, and constraint or
    /// foreign-key failures abort (they mean the log and the snapshot disagree).
    /// </summary>
    public static ChangesetConflictPolicy Replay { get; } = new(
        ConflictResolution.Replace, ConflictResolution.Omit, ConflictResolution.Replace, ConflictResolution.Abort, ConflictResolution.Abort);

    /// <summary>Any conflict aborts: the target must be exactly the state the changeset was taken from.</summary>
    public static ChangesetConflictPolicy Strict { get; } = new(
        ConflictResolution.Abort, ConflictResolution.Abort, ConflictResolution.Abort, ConflictResolution.Abort, ConflictResolution.Abort);

    /// <summary>Resolution for SQLITE_CHANGESET_DATA.</summary>
    public ConflictResolution Data { get; }

    /// <summary>Resolution for SQLITE_CHANGESET_NOTFOUND (never REPLACE).</summary>
    public ConflictResolution NotFound { get; }

    /// <summary>Resolution for SQLITE_CHANGESET_CONFLICT.</summary>
    public ConflictResolution Conflict { get; }

    /// <summary>Resolution for SQLITE_CHANGESET_CONSTRAINT (never REPLACE).</summary>
    public ConflictResolution Constraint { get; }

    /// <summary>Resolution for SQLITE_CHANGESET_FOREIGN_KEY (never REPLACE).</summary>
    public ConflictResolution ForeignKey { get; }

    private static void RejectReplace(ConflictResolution value, string name)
    {
        if (value == ConflictResolution.Replace)
        {
            throw new ArgumentException($"SQLite does not allow REPLACE for the '{name}' conflict kind.", name);
        }
    }
}
