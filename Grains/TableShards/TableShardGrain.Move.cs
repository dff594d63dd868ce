using System.Diagnostics;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using OrleansShards.Grains.Cluster;
using OrleansShards.Grains.Pitr;
using OrleansShards.Grains.Storage.Native;

namespace OrleansShards.Grains.TableShards;

/// <summary>
/// Online moves between silos (drain, rebalance). In one exclusive turn: a page-for-page copy of the file (SQLite's
/// backup API) and the PITR snapshots are sent to the target silo's agent in chunks, installed there durably, and the
/// ownership map hands the shard over (compare-and-set on this activation's epoch, which rises). This activation then
/// refuses every call with <see cref="ShardMovedException"/> (resent by the caller to the new primary), deactivates
/// and deletes its copy. A failure before the hand-over leaves the shard here, unchanged.
/// </summary>
internal sealed partial class TableShardGrain : IShardMove
{
    private const int MoveChunkBytes = 1024 * 1024;

    /// <summary>The silo this shard moved to; set once the map names it.</summary>
    private string? _movedTo;

    public async Task<MoveResult> MoveToAsync(string targetSilo, CancellationToken cancellationToken = default)
    {
        if (!Ownership.IsDistributed || Cluster is not { } cluster)
        {
            throw new ShardException(ShardErrorCode.InvalidArgument, "Moving a shard needs cluster mode (Shards:Cluster:Redis).");
        }

        if (cluster.IsSelf(targetSilo))
        {
            return new MoveResult(_shard, cluster.SelfName, targetSilo, _epoch, 0, 0);
        }

        if (cluster.ActiveSilo(targetSilo) is null)
        {
            throw new ShardException(ShardErrorCode.Unavailable, $"Silo '{targetSilo}' is not an active member of the cluster.");
        }

        var started = Stopwatch.GetTimestamp();
        var moveId = Guid.NewGuid().ToString("N")[..12];
        var agent = _grains.GetGrain<ISiloAgent>(targetSilo);
        if (_replicator?.Replicas.Contains(targetSilo) == true)
        {
            // The target holds a replica at the very path the moved file takes: it lets go of the file first.
            await _grains.GetGrain<Replication.IShardReplica>(Replication.ShardReplicaGrain.KeyOf(targetSilo, _shard)).ReleaseAsync();
        }

        AbortTransactions();

        // A consistent copy of the file: no write runs during this exclusive turn, the writer is idle.
        var copy = _paths.Database + ".move-out-" + moveId;
        await _writer.RunMaintenanceAsync(writer =>
        {
            using var destination = new SqliteConnection($"Data Source={copy};Pooling=False");
            destination.Open();
            SqliteBackup.Copy(writer.Connection, destination);
            return Task.CompletedTask;
        });

        var dataRoot = Path.GetFullPath(_options.DataDirectory);
        var files = new List<(string Relative, string Source)> { (Path.GetRelativePath(dataRoot, _paths.Database), copy) };
        if (Directory.Exists(_paths.Snapshots))
        {
            files.AddRange(Directory.EnumerateFiles(_paths.Snapshots).Where(f => !f.Contains(".move-", StringComparison.Ordinal))
                .Select(f => (Path.GetRelativePath(dataRoot, f), f)));
        }

        var relatives = files.Select(f => f.Relative).ToList();
        long bytes = 0;
        ShardOwner? moved;
        try
        {
            foreach (var (relative, source) in files)
            {
                bytes += await SendFileAsync(agent, moveId, relative, source, cancellationToken);
            }

            await agent.InstallAsync(moveId, relatives);
            moved = await Ownership.TransferAsync(_shard, cluster.SelfName, targetSilo, _epoch, cancellationToken);
            if (moved is null)
            {
                throw new ShardException(ShardErrorCode.Unavailable, $"Shard {_shard} changed owner during the move; nothing was moved.");
            }
        }
        catch
        {
            try
            {
                await agent.AbortAsync(moveId, relatives);
            }
            catch (Exception abort)
            {
                LogMoveAbortFailed(abort, _shard, targetSilo);
            }

            throw;
        }
        finally
        {
            FileDurability.DeleteIfExists(copy);
        }

        // The map names the target now: this copy serves nothing more and goes with its files.
        _movedTo = targetSilo;
        _primaryElsewhere = targetSilo;
        _refusal = $"Shard {_shard} has moved to silo '{targetSilo}'; retry.";
        this.DeactivateOnIdle();
        var stallMs = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        LogMoved(_shard, targetSilo, moved.Epoch, bytes, stallMs);
        return new MoveResult(_shard, cluster.SelfName, targetSilo, moved.Epoch, bytes, stallMs);
    }

    private static async Task<long> SendFileAsync(ISiloAgent agent, string moveId, string relative, string source, CancellationToken cancellationToken)
    {
        await using var file = new FileStream(source, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        var buffer = new byte[MoveChunkBytes];
        long offset = 0;
        do
        {
            var read = await file.ReadAtLeastAsync(buffer, buffer.Length, throwOnEndOfStream: false, cancellationToken);
            await agent.ReceiveAsync(moveId, relative, offset, read == buffer.Length ? buffer : buffer[..read]);
            offset += read;
            if (read < buffer.Length)
            {
                break;
            }
        }
        while (true);
        return offset;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Shard {Shard} moved to silo {Target} at epoch {Epoch}: {Bytes} bytes, writes waited {StallMs:0.0} ms")]
    private partial void LogMoved(string shard, string target, long epoch, long bytes, double stallMs);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Shard {Shard}: could not remove a failed move's files on silo {Target}")]
    private partial void LogMoveAbortFailed(Exception exception, string shard, string target);
}
