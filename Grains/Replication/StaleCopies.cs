using System.Globalization;
using Microsoft.Data.Sqlite;
using OrleansShards.Grains.Cluster;
using OrleansShards.Grains.Pitr;
using OrleansShards.Grains.Storage;

namespace OrleansShards.Grains.Replication;

/// <summary>
/// Finds and deletes the shard copies on this silo's disk that the ownership map has left behind: the copy of a replica
/// replaced while its silo was away, of a primary failed over from and not kept as a replica, of a shard dropped
/// (unshard's partitions) while this silo was unreachable. Run when the silo starts, before it joins the cluster as
/// active: no primary can be seeding or moving a copy to it then, so a copy the map does not list is not one about to
/// be listed. A copy goes only when the map proves it stale: the shard's entry names neither this silo as its primary
/// nor as one of its replicas, at an epoch at least the copy has seen (its file's stamp or its fence; a replaced
/// replica's copy has seen the same epoch), or the shard was dropped at an epoch at least the copy's. A copy the map
/// says nothing about, or that has seen a newer epoch than the map's, is kept: a Redis that lost its data must not make
/// silos delete shards.
/// </summary>
internal static class StaleCopies
{
    /// <summary>Deletes the stale copies under <paramref name="dataDirectory"/>; returns the shards whose copy went.</summary>
    public static async Task<List<string>> SweepAsync(IShardOwnership ownership, string self, string dataDirectory, CancellationToken cancellationToken = default)
    {
        var root = Path.GetFullPath(dataDirectory);
        var deleted = new List<string>();
        if (!Directory.Exists(root))
        {
            return deleted;
        }

        var entries = (await ownership.ListAsync(cancellationToken: cancellationToken).ConfigureAwait(false))
            .ToDictionary(e => e.Shard, e => e.Owner, StringComparer.Ordinal);
        var dropped = await ownership.DroppedAsync(cancellationToken).ConfigureAwait(false);
        foreach (var tenantDirectory in Directory.EnumerateDirectories(root))
        {
            var tenant = Path.GetFileName(tenantDirectory);
            if (!ShardName.IsValid(tenant))
            {
                continue; // .silo and anything else that is not a tenant
            }

            foreach (var database in Directory.EnumerateFiles(tenantDirectory, "*.db"))
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
                    if (owner.Primary == self || owner.Replicas.Contains(self))
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
                    Delete(new ShardPaths(root, tenant, table));
                    deleted.Add(shard);
                }
            }
        }

        return deleted;
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

    private static void Delete(ShardPaths paths)
    {
        // Logs first, as a primary deletes its files: a crash in between never leaves a -wal beside a later file.
        foreach (var file in new[] { paths.Wal, paths.Database + "-shm", paths.Database + "-journal", paths.Database, paths.Database + ".fence" })
        {
            FileDurability.DeleteIfExists(file);
        }

        if (Directory.Exists(paths.Snapshots))
        {
            Directory.Delete(paths.Snapshots, recursive: true);
        }
    }
}
