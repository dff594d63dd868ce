namespace OrleansShards.Grains.Storage;

/// <summary>
/// Where a shard's files live: <c>{dataDir}/{tenant}/{table}.db</c> (plus <c>-wal</c>/<c>-shm</c>) and
/// <c>{dataDir}/{tenant}/{table}.snapshots/</c>. Names are validated before any path is built.
/// </summary>
internal sealed class ShardPaths
{
    public ShardPaths(string dataDirectory, string tenant, string table)
    {
        ShardName.Validate(tenant, "tenant");
        ShardName.Validate(table, "table");
        TenantDirectory = Path.Combine(Path.GetFullPath(dataDirectory), tenant);
        Database = Path.Combine(TenantDirectory, table + ".db");
        Wal = Database + "-wal";
        Snapshots = Path.Combine(TenantDirectory, table + ".snapshots");
    }

    public string TenantDirectory { get; }

    public string Database { get; }

    public string Wal { get; }

    public string Snapshots { get; }

    public long ExtraFilesSize()
    {
        long size = 0;
        if (File.Exists(Wal))
        {
            size += new FileInfo(Wal).Length;
        }

        if (Directory.Exists(Snapshots))
        {
            foreach (var file in new DirectoryInfo(Snapshots).EnumerateFiles())
            {
                size += file.Length;
            }
        }

        return size;
    }
}
