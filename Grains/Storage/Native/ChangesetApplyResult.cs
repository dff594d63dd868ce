namespace OrleansShards.Grains.Storage.Native;

/// <summary>
/// How many conflicts of each kind <see cref="Changeset.Apply"/> met and resolved by its policy
/// (an aborting conflict throws instead). <see cref="ForeignKey"/> counts the foreign key
/// violations SQLite reported at the end, not callbacks.
/// </summary>
/// <param name="Data">SQLITE_CHANGESET_DATA conflicts.</param>
/// <param name="NotFound">SQLITE_CHANGESET_NOTFOUND conflicts.</param>
/// <param name="Conflict">SQLITE_CHANGESET_CONFLICT conflicts.</param>
/// <param name="Constraint">SQLITE_CHANGESET_CONSTRAINT conflicts.</param>
/// <param name="ForeignKey">Foreign key violations (SQLITE_CHANGESET_FOREIGN_KEY).</param>
internal readonly record struct ChangesetApplyResult(int Data, int NotFound, int Conflict, int Constraint, int ForeignKey)
{
    /// <summary>Every conflict met.</summary>
    public int Total => Data + NotFound + Conflict + Constraint + ForeignKey;
}
