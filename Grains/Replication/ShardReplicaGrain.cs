using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OrleansShards.Grains.Cluster;
using OrleansShards.Grains.Hosting;
using OrleansShards.Grains.Pitr;
using OrleansShards.Grains.Storage;

namespace OrleansShards.Grains.Replication;

/// <summary>
/// The copy of one shard on one replica silo, keyed <c>{silo}/{tenant}:{table}</c> and placed on that silo. It holds
/// the shard's file at the same path a primary there would use, applies the primary's batches in order (refusing an
/// older primary's and asking for a missing tail), is seeded with a whole copy when its log cannot follow, and is
/// fenced by a promotion (a newer epoch, kept durably in <c>{file}.fence</c> even before it holds a copy).
/// </summary>
[Alias("orleansshards.IShardReplica")]
internal interface IShardReplica : IGrainWithStringKey
{
    /// <summary>Raises the fence to <paramref name="epoch"/> (0: only reads) and returns the copy's status.</summary>
    [Alias("FenceAsync")]
    Task<ReplicaStatus> FenceAsync(long epoch);

    /// <summary>Applies a batch of the primary.</summary>
    [Alias("ApplyAsync")]
    Task<ReplicaApplyResult> ApplyAsync(ReplicaBatch batch);

    /// <summary>Entries after <paramref name="afterSeq"/> (a promotion catching up from the most advanced copy).</summary>
    [Alias("ReadTailAsync")]
    Task<List<ReplicatedEntry>?> ReadTailAsync(long afterSeq, int max);

    /// <summary>The epoch of the entry at <paramref name="seq"/>, or null.</summary>
    [Alias("EntryEpochAsync")]
    Task<long?> EntryEpochAsync(long seq);

    /// <summary>Installs a whole copy received by the silo's agent under <paramref name="seedId"/> (false: fenced by a newer epoch).</summary>
    [Alias("InstallSeedAsync")]
    Task<bool> InstallSeedAsync(string seedId, IReadOnlyList<string> relativePaths, long epoch);

    /// <summary>Closes the copy and goes: the shard's primary opens this file here now (a promotion).</summary>
    [Alias("ReleaseAsync")]
    Task ReleaseAsync();
}

[SiloNamePlacement]
internal sealed partial class ShardReplicaGrain(
    IOptions<TableShardOptions> options,
    ClusterView cluster,
    IGrainFactory grains,
    ILogger<ShardReplicaGrain> logger) : Grain, IShardReplica
{
    private readonly string _root = Path.GetFullPath(options.Value.DataDirectory);
    private ShardPaths _paths = null!;
    private string _silo = null!;
    private ShardConnection? _connection;
    private long _fence;

    public static string KeyOf(string silo, string shard) => silo + "/" + shard;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        var key = this.GetPrimaryKeyString();
        var slash = key.IndexOf('/', StringComparison.Ordinal);
        _silo = key[..slash];
        if (!cluster.IsSelf(_silo))
        {
            this.DeactivateOnIdle();
            throw new ShardException(ShardErrorCode.Unavailable, $"The replica on silo '{_silo}' is not on this silo; retry.");
        }

        var (tenant, table) = ShardName.Parse(key[(slash + 1)..]);
        _paths = new ShardPaths(_root, tenant, table);
        _fence = File.Exists(FencePath) && long.TryParse(File.ReadAllText(FencePath), NumberStyles.None, CultureInfo.InvariantCulture, out var fence) ? fence : 0;
        return Task.CompletedTask;
    }

    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        Close();
        return Task.CompletedTask;
    }

    private string FencePath => _paths.Database + ".fence";

    public Task<ReplicaStatus> FenceAsync(long epoch)
    {
        if (epoch > _fence)
        {
            Directory.CreateDirectory(_paths.TenantDirectory);
            var temporary = FencePath + ".tmp";
            File.WriteAllText(temporary, epoch.ToString(CultureInfo.InvariantCulture));
            FileDurability.ReplaceDurably(temporary, FencePath);
            _fence = epoch;
        }

        return Task.FromResult(Open() is { } connection ? ReplicaLog.Status(connection, _fence) : new ReplicaStatus(false, _fence, 0, -1));
    }

    public Task<ReplicaApplyResult> ApplyAsync(ReplicaBatch batch)
    {
        if (batch.Epoch < _fence)
        {
            return Task.FromResult(new ReplicaApplyResult(ReplicaApplyOutcome.StaleEpoch, -1, _fence));
        }

        if (Open() is not { } connection)
        {
            return Task.FromResult(new ReplicaApplyResult(ReplicaApplyOutcome.NeedsSeed, 0, _fence));
        }

        var result = ReplicaLog.Apply(connection, batch, _fence);
        if (result.Outcome != ReplicaApplyOutcome.Applied)
        {
            LogNotApplied(Key, result.Outcome, batch.Epoch, result.Seq, result.Epoch);
        }

        return Task.FromResult(result);
    }

    public Task<List<ReplicatedEntry>?> ReadTailAsync(long afterSeq, int max) =>
        Task.FromResult(Open() is { } connection ? ReplicaLog.ReadTail(connection, afterSeq, max) : null);

    public Task<long?> EntryEpochAsync(long seq) =>
        Task.FromResult(Open() is { } connection ? ReplicaLog.EntryEpoch(connection, seq) : null);

    public async Task<bool> InstallSeedAsync(string seedId, IReadOnlyList<string> relativePaths, long epoch)
    {
        var agent = grains.GetGrain<ISiloAgent>(_silo);
        if (epoch < _fence)
        {
            await agent.AbortAsync(seedId, relativePaths);
            return false;
        }

        Close();

        // Snapshots of an older copy go: the seed brings the primary's.
        if (Directory.Exists(_paths.Snapshots))
        {
            Directory.Delete(_paths.Snapshots, recursive: true);
        }

        await agent.InstallAsync(seedId, relativePaths);
        LogSeeded(Key, epoch);
        return true;
    }

    public Task ReleaseAsync()
    {
        Close();
        this.DeactivateOnIdle();
        return Task.CompletedTask;
    }

    private string Key => this.GetPrimaryKeyString();

    private ShardConnection? Open()
    {
        if (_connection is not null)
        {
            return _connection;
        }

        if (!File.Exists(_paths.Database))
        {
            return null;
        }

        var connection = new ShardConnection(_paths.Database, readOnly: false, planCacheSize: 16);
        try
        {
            // Durable before the answer: an acknowledgement counts this copy in the majority.
            connection.Execute("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = OFF;");
            ShardSchema.Migrate(connection);
            ShardStateBuilder.SetTriggers(connection, enabled: false);
        }
        catch
        {
            connection.Dispose();
            throw;
        }

        _connection = connection;
        return connection;
    }

    private void Close()
    {
        _connection?.Dispose();
        _connection = null;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Replica {Replica}: batch of epoch {BatchEpoch} not applied ({Outcome}); copy at {Seq}, epoch {Epoch}")]
    private partial void LogNotApplied(string replica, ReplicaApplyOutcome outcome, long batchEpoch, long seq, long epoch);

    [LoggerMessage(Level = LogLevel.Information, Message = "Replica {Replica}: seeded with a whole copy at epoch {Epoch}")]
    private partial void LogSeeded(string replica, long epoch);
}
