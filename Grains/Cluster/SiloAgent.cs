using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Concurrency;
using Orleans.Placement;
using Orleans.Runtime;
using Orleans.Runtime.Placement;
using OrleansShards.Grains.Hosting;
using OrleansShards.Grains.Pitr;

namespace OrleansShards.Grains.Cluster;

/// <summary>
/// A silo's own agent, keyed by the silo's name and placed on it: receives the files of shards moved to this silo.
/// Files arrive in chunks under a move id into <c>{file}.move-{id}</c> and are installed in place (synced, then
/// renamed) only when the whole shard is there; an aborted move leaves nothing behind.
/// </summary>
[Alias("orleansshards.ISiloAgent")]
internal interface ISiloAgent : IGrainWithStringKey
{
    /// <summary>Appends <paramref name="data"/> at <paramref name="offset"/> of the incoming copy of <paramref name="relativePath"/>.</summary>
    [Alias("ReceiveAsync")]
    Task ReceiveAsync(string moveId, string relativePath, long offset, byte[] data);

    /// <summary>Installs every file received under <paramref name="moveId"/> in place of any older copy.</summary>
    [Alias("InstallAsync")]
    Task InstallAsync(string moveId, IReadOnlyList<string> relativePaths);

    /// <summary>Deletes what was received under <paramref name="moveId"/>.</summary>
    [Alias("AbortAsync")]
    Task AbortAsync(string moveId, IReadOnlyList<string> relativePaths);

    /// <summary>The silo name this agent runs on (for tests and diagnostics).</summary>
    [Alias("GetSiloNameAsync")]
    Task<string> GetSiloNameAsync();

    /// <summary>
    /// Bytes on this silo's disk of the given tables of <paramref name="tenant"/> (database, WAL, shared memory, PITR
    /// snapshots): a tenant's storage quota in a cluster sums them over the silos holding its primaries.
    /// </summary>
    [Alias("TenantBytesAsync")]
    Task<long> TenantBytesAsync(string tenant, IReadOnlyList<string> tables);
}

[SiloNamePlacement]
[Reentrant]
internal sealed partial class SiloAgentGrain(IOptions<TableShardOptions> options, ClusterView cluster, ILogger<SiloAgentGrain> logger) : Grain, ISiloAgent
{
    private readonly string _root = Path.GetFullPath(options.Value.DataDirectory);

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        var name = this.GetPrimaryKeyString();
        if (!cluster.IsSelf(name))
        {
            // Placed by a cached address on the wrong silo: go; the next call is placed by name.
            this.DeactivateOnIdle();
            throw new ShardException(ShardErrorCode.Unavailable, $"The agent of silo '{name}' is not on this silo; retry.");
        }

        return Task.CompletedTask;
    }

    public async Task ReceiveAsync(string moveId, string relativePath, long offset, byte[] data)
    {
        var path = Incoming(relativePath, moveId);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        await using var file = new FileStream(path, offset == 0 ? FileMode.Create : FileMode.Open, FileAccess.Write, FileShare.None);
        if (file.Length != offset)
        {
            throw new ShardException(ShardErrorCode.Internal, $"Move {moveId}: chunk at {offset} of {relativePath} does not follow the {file.Length} bytes received.");
        }

        file.Seek(offset, SeekOrigin.Begin);
        await file.WriteAsync(data);
    }

    public Task InstallAsync(string moveId, IReadOnlyList<string> relativePaths)
    {
        foreach (var relative in relativePaths)
        {
            var incoming = Incoming(relative, moveId);
            if (!File.Exists(incoming))
            {
                throw new ShardException(ShardErrorCode.Internal, $"Move {moveId}: {relative} was never received.");
            }

            FileDurability.SyncFile(incoming);
        }

        foreach (var relative in relativePaths)
        {
            var final = Final(relative);

            // An older copy of the same shard (it lived here before) goes, with its WAL: the incoming file is newer.
            FileDurability.DeleteIfExists(final + "-wal");
            FileDurability.DeleteIfExists(final + "-shm");
            File.Move(Incoming(relative, moveId), final, overwrite: true);
            FileDurability.SyncDirectory(Path.GetDirectoryName(final)!);
        }

        LogInstalled(moveId, relativePaths.Count);
        return Task.CompletedTask;
    }

    public Task AbortAsync(string moveId, IReadOnlyList<string> relativePaths)
    {
        foreach (var relative in relativePaths)
        {
            FileDurability.DeleteIfExists(Incoming(relative, moveId));
        }

        return Task.CompletedTask;
    }

    public Task<string> GetSiloNameAsync() => Task.FromResult(cluster.SelfName);

    public Task<long> TenantBytesAsync(string tenant, IReadOnlyList<string> tables)
    {
        ShardName.Validate(tenant, "tenant");
        long total = 0;
        foreach (var table in tables)
        {
            ShardName.Validate(table, "table");
            var paths = new Storage.ShardPaths(_root, tenant, table);
            foreach (var file in new[] { paths.Database, paths.Wal, paths.Database + "-shm" })
            {
                total += FileLength(file);
            }

            if (Directory.Exists(paths.Snapshots))
            {
                total += Directory.EnumerateFiles(paths.Snapshots, "*", SearchOption.AllDirectories).Sum(FileLength);
            }
        }

        return Task.FromResult(total);
    }

    private static long FileLength(string path)
    {
        try
        {
            return new FileInfo(path).Length;
        }
        catch (FileNotFoundException)
        {
            return 0; // not there, or removed while counting (a checkpointed WAL, a pruned snapshot)
        }
    }

    private string Final(string relativePath)
    {
        var path = Path.GetFullPath(Path.Combine(_root, relativePath));
        if (!path.StartsWith(_root + Path.DirectorySeparatorChar, StringComparison.Ordinal))
        {
            throw new ShardException(ShardErrorCode.InvalidArgument, $"Path {relativePath} is outside the data directory.");
        }

        return path;
    }

    private string Incoming(string relativePath, string moveId) => Final(relativePath) + ".move-" + moveId;

    [LoggerMessage(Level = LogLevel.Information, Message = "Move {MoveId}: installed {Files} files")]
    private partial void LogInstalled(string moveId, int files);
}

/// <summary>Places a grain keyed by a silo name (or <c>{silo}/…</c>) on the active silo of that name.</summary>
[Serializable, GenerateSerializer, Immutable, SuppressReferenceTracking, Alias("orleansshards.SiloNamePlacement")]
public sealed class SiloNamePlacement : PlacementStrategy
{
    internal static SiloNamePlacement Singleton { get; } = new();
}

/// <summary>Marks a grain class as placed by <see cref="SiloNamePlacement"/>.</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false)]
public sealed class SiloNamePlacementAttribute : PlacementAttribute
{
    /// <summary>Creates the attribute.</summary>
    public SiloNamePlacementAttribute()
        : base(SiloNamePlacement.Singleton)
    {
    }
}

/// <summary>The director of <see cref="SiloNamePlacement"/>.</summary>
internal sealed class SiloNamePlacementDirector(ClusterView cluster) : IPlacementDirector
{
    public Task<SiloAddress> OnAddActivation(PlacementStrategy strategy, PlacementTarget target, IPlacementContext context)
    {
        // The key is the silo's name, or "{silo}/{rest}" for a grain of that silo about something (a shard's replica).
        var key = target.GrainIdentity.Key.ToString()!;
        var slash = key.IndexOf('/', StringComparison.Ordinal);
        var name = slash < 0 ? key : key[..slash];
        if (cluster.IsSelf(name))
        {
            return Task.FromResult(context.LocalSilo);
        }

        // Another silo's grain while that silo is not active (dead, gone, not joined yet): the call fails here, typed,
        // instead of activating the grain on a silo that is not its own (its activation would fail, and be logged with
        // its stack, on every call until the silo is back).
        return cluster.ActiveSilo(name) is { } silo
            ? Task.FromResult(silo)
            : Task.FromException<SiloAddress>(new ShardException(ShardErrorCode.Unavailable, $"Silo '{name}' is not an active member of the cluster; retry once it is."));
    }
}
