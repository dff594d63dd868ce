using System.Globalization;
using Microsoft.Data.Sqlite;
using OrleansShards.Grains.Cluster;
using OrleansShards.Grains.Pitr;
using OrleansShards.Grains.Storage;

namespace OrleansShards.Grains.Replication;

/// <summary>
/// Finds the shard copies on this silo's disk that the ownership map has left behind — the copy of a replica replaced
/// while its silo was away, of a primary failed over from and not kept as a replica, of a shard dropped (unshard's
/// partitions) while this silo was unreachable — and moves them aside into
/// <c>{DataDirectory}/.silo/stale/{time}/{tenant}/</c> (moved, not deleted: an operator can still take a file back;
/// folders older than <see cref="QuarantineRetention"/> are deleted by the next sweep). Run when the silo starts,
/// before it joins the cluster as active: no primary can be seeding or moving a copy to it then, so a copy the map does
/// not list is not one about to be listed.
/// A copy is stale only when the map proves it: the shard's entry names neither this silo as its primary nor as one of
/// its replicas, its primary is an active member of the cluster (so a silo that comes back under another name, which
/// the entries do not name, or a map pointing at silos that are gone, moves nothing), and the copy has seen at most the
/// entry's epoch (its file's stamp or its fence; a replaced replica's copy has seen the same epoch); or the shard was
/// dropped at an epoch at least the copy's. A copy the map says nothing about, or that has seen a newer epoch than the
/// map's, stays.
/// </summary>
internal static class StaleCopies
{
    /// <summary>How long moved-aside copies are kept before a sweep deletes them.</summary>
    public static readonly TimeSpan QuarantineRetention = TimeSpan.FromDays(7);

    /// <summary>The folder under the data directory that stale copies are moved into.</summary>
    public static string QuarantineDirectory(string dataDirectory) => Path.Combine(Path.GetFullPath(dataDirectory), ".silo", "stale");

    /// <summary>
    /// Moves the stale copies under <paramref name="dataDirectory"/> aside (see the class); returns the shards whose copy
    /// went. <paramref name="activeSilos"/> are the cluster's active members as this silo sees them while it starts.
    /// </summary>
    public static async Task<List<string>> SweepAsync(
        IShardOwnership ownership, string self, IReadOnlySet<string> activeSilos, string dataDirectory, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        var root = Path.GetFullPath(dataDirectory);
        var moved = new List<string>();
        if (!Directory.Exists(root))
        {
            return moved;
        }

        ExpireQuarantine(root, now);
        var entries = (await ownership.ListAsync(cancellationToken: cancellationToken).ConfigureAwait(false))
            .ToDictionary(e => e.Shard, e => e.Owner, StringComparer.Ordinal);
        var dropped = await ownership.DroppedAsync(cancellationToken).ConfigureAwait(false);
        var quarantine = Path.Combine(QuarantineDirectory(root), now.UtcDateTime.ToString("yyyyMMddTHHmmssfffZ", CultureInfo.InvariantCulture));
        foreach (var tenantDirectory in Directory.EnumerateDirectories(root))
        {
            var tenant = Path.GetFileName(tenantDirectory);
            if (!ShardName.IsValid(tenant))
            {
                continue; // .silo and anything else that is not a tenant
            }

            foreach (var database in Directory.EnumerateFiles(tenantDirectory, "*.db").ToList())
            {
                var table = Path.GetFileNameWithoutExtension(database);
                if (!ShardName.IsValid(table))
                {
                    continue;
                }

                var shard = ShardName.Format(tenant, table);
                long newer;
                if (entries.TryGetValue(shard, out var owner))
                {
                    if (owner.Primary == self || owner.Replicas.Contains(self) || !activeSilos.Contains(owner.Primary))
                    {
                        continue;
                    }

                    newer = owner.Epoch + 1; // stale when the copy saw at most the entry's epoch
                }
                else if (dropped.TryGetValue(shard, out var droppedAt))
                {
                    newer = droppedAt + 1; // stale when the copy saw at most the dropped epoch
                }
                else
                {
                    continue;
                }

                if (CopyEpoch(database) is { } epoch && epoch < newer)
                {
                    MoveAside(new ShardPaths(root, tenant, table), Path.Combine(quarantine, tenant));
                    moved.Add(shard);
                }
            }
        }

        return moved;
    }

    /// <summary>The highest epoch the copy has seen (its file's stamp, its fence file), or null when it cannot be read.</summary>
    internal static long? CopyEpoch(string database)
    {
        long fence = 0;
        if (File.Exists(database + ".fence")
            && !long.TryParse(File.ReadAllText(database + ".fence").Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out fence))
        {
            return null;
        }

        try
        {
            var builder = new SqliteConnectionStringBuilder { DataSource = database, Mode = SqliteOpenMode.ReadWrite, Pooling = false };
            using var connection = new SqliteConnection(builder.ToString());
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT coalesce((SELECT value FROM _meta WHERE key = 'epoch'), 0)";
            return Math.Max(fence, Convert.ToInt64(command.ExecuteScalar(), CultureInfo.InvariantCulture));
        }
        catch (Exception ex) when (ex is SqliteException or InvalidCastException or FormatException)
        {
            return null; // not a shard file (no _meta), damaged, locked: kept
        }
    }

    /// <summary>Moves the copy's files into <paramref name="target"/>: the database last, so a crash leaves no -wal behind a later file.</summary>
    private static void MoveAside(ShardPaths paths, string target)
    {
        Directory.CreateDirectory(target);
        foreach (var file in new[] { paths.Wal, paths.Database + "-shm", paths.Database + "-journal", paths.Database + ".fence", paths.Database })
        {
            if (File.Exists(file))
            {
                File.Move(file, Path.Combine(target, Path.GetFileName(file)), overwrite: true);
            }
        }

        if (Directory.Exists(paths.Snapshots))
        {
            Directory.Move(paths.Snapshots, Path.Combine(target, Path.GetFileName(paths.Snapshots)));
        }
    }

    /// <summary>Deletes the quarantine folders of sweeps older than <see cref="QuarantineRetention"/>.</summary>
    private static void ExpireQuarantine(string root, DateTimeOffset now)
    {
        var quarantine = QuarantineDirectory(root);
        if (!Directory.Exists(quarantine))
        {
            return;
        }

        foreach (var folder in Directory.EnumerateDirectories(quarantine).ToList())
        {
            if (DateTime.TryParseExact(Path.GetFileName(folder), "yyyyMMddTHHmmssfffZ", CultureInfo.InvariantCulture,
                    DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var at)
                && now.UtcDateTime - at > QuarantineRetention)
            {
                Directory.Delete(folder, recursive: true);
            }
        }
    }
}
