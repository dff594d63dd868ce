namespace OrleansShards.Grains.Pitr;

/// <summary>The durable steps of a restore's swap, in order (see <see cref="ShardRestore"/>).</summary>
internal enum RestoreStep
{
    /// <summary>The restored file is built, verified and synced; nothing of the live shard changed yet.</summary>
    Prepared,
    /// <summary>The restore marker is durable: from here a crash rolls the restore forward.</summary>
    MarkerWritten,
    /// <summary>The old file's WAL and shared-memory files are gone.</summary>
    OldWalRemoved,
    /// <summary>The restored file replaced the shard file.</summary>
    Renamed,
}
