namespace OrleansShards.Grains.Storage.Native;

/// <summary>What to do with a conflicting change while applying a changeset (SQLITE_CHANGESET_*).</summary>
internal enum ConflictResolution
{
    /// <summary>Skip this change and go on (SQLITE_CHANGESET_OMIT).</summary>
    Omit = 0,
    /// <summary>Overwrite the conflicting row; only for data and conflict conflicts (SQLITE_CHANGESET_REPLACE).</summary>
    Replace = 1,
    /// <summary>Stop and roll back every change of this apply (SQLITE_CHANGESET_ABORT).</summary>
    Abort = 2,
}
