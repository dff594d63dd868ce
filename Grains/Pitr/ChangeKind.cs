namespace OrleansShards.Grains.Pitr;

/// <summary>The <c>kind</c> of a <c>_changes</c> row.</summary>
internal enum ChangeKind
{
    /// <summary>A data commit: replayed by applying its changeset.</summary>
    Data = 0,
    /// <summary>A schema commit: replayed by running its SQL again (then reconciled with its changeset).</summary>
    Ddl = 1,
    /// <summary>A restore: the state after it equals the state at <c>restored_to</c>.</summary>
    Restore = 2,
}
