using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using OrleansShards.Grains.Cluster;
using OrleansShards.Grains.Pitr;
using OrleansShards.Grains.Storage;
using OrleansShards.Grains.Storage.Native;
using OrleansShards.Grains.Writes;

namespace OrleansShards.Grains.Replication;

/// <summary>
/// The primary's side of replication: the output gate of its writer. Each commit group's entry is shipped to every
/// replica (one ordered pipeline per replica) and the writer acknowledges the group's works once a majority of the
/// shard's copies (this one included) hold it. A replica that missed entries is caught up from the local log; one
/// whose log does not match (its newest entry's epoch differs from the local entry at that sequence, or the local
/// log was pruned there, or it holds no copy) is seeded with a whole consistent copy of the file and its snapshots.
/// A replica that has seen a newer epoch means a newer primary exists: this one is fenced.
/// </summary>
internal sealed partial class ShardReplicator : IReplicationGate
{
    private const int TailBatch = 256;
    private const int SeedChunkBytes = 1024 * 1024;

    private readonly string _shard;
    private readonly ShardPaths _paths;
    private readonly string _dataRoot;
    private readonly IGrainFactory _grains;
    private readonly Func<ShardConnection> _writer;
    private readonly Action<string> _onLost;
    private readonly TimeSpan _timeout;
    private readonly Action<string> _onFenced;
    private readonly ILogger _logger;
    private readonly Func<string, bool> _isActive;
    private readonly List<Peer> _peers;

    public ShardReplicator(
        string shard,
        ShardPaths paths,
        string dataDirectory,
        long epoch,
        IReadOnlyList<string> replicas,
        IGrainFactory grains,
        Func<ShardConnection> writer,
        TimeSpan timeout,
        Action<string> onFenced,
        Action<string> onLost,
        ILogger logger,
        Func<string, bool>? isActive = null)
    {
        _shard = shard;
        _paths = paths;
        _dataRoot = Path.GetFullPath(dataDirectory);
        Epoch = epoch;
        _grains = grains;
        _writer = writer;
        _timeout = timeout;
        _onFenced = onFenced;
        _onLost = onLost;
        _logger = logger;
        _isActive = isActive ?? (static _ => true);
        _peers = replicas.Select(r => new Peer(r, grains.GetGrain<IShardReplica>(ShardReplicaGrain.KeyOf(r, shard)))).ToList();
    }

    /// <summary>The epoch batches carry (the primary's).</summary>
    public long Epoch { get; }

    /// <summary>The replicas' silo names.</summary>
    public IReadOnlyList<string> Replicas => _peers.Select(p => p.Silo).ToList();

    /// <summary>Copies of the shard, this one included.</summary>
    public int Copies => _peers.Count + 1;

    /// <summary>Replicas whose acknowledgement makes a majority with this copy.</summary>
    private int Needed => Copies / 2;

    /// <summary>Bytes sent by seeds (whole copies) so far.</summary>
    public long SeededBytes => Interlocked.Read(ref _seededBytes);

    private long _seededBytes;

    /// <summary>Each replica with the newest sequence it acknowledged (-1: not known yet).</summary>
    public IReadOnlyList<ReplicaInfo> Applied() => _peers.Select(p => new ReplicaInfo(p.Silo, Interlocked.Read(ref p.Matched))).ToList();

    /// <summary>The replicas that acknowledged nothing for at least <paramref name="silence"/>.</summary>
    public IReadOnlyList<string> SilentFor(TimeSpan silence) =>
        _peers.Where(p => Environment.TickCount64 - Interlocked.Read(ref p.AckedAt) >= (long)silence.TotalMilliseconds).Select(p => p.Silo).ToList();

    /// <summary>
    /// Completes once every send queued so far to the replica on <paramref name="silo"/> has ended, failed or not (at once
    /// when it is not one of this pipeline's replicas). A move to that silo waits for it before it hands the file over: a
    /// seed of this pipeline still in flight could otherwise replace the copy the move has just brought up to date.
    /// </summary>
    public Task IdleAsync(string silo) => _peers.FirstOrDefault(p => p.Silo == silo) is { } peer ? peer.IdleAsync() : Task.CompletedTask;

    /// <summary>Every replica must be brought up to date (catch-up or seed) before its next batch: the file was replaced (a restore).</summary>
    public void Resync()
    {
        foreach (var peer in _peers)
        {
            peer.Synced = false;
        }
    }

    public Task ReplicateAsync(CommittedGroup commit)
    {
        if (_peers.Count == 0)
        {
            return Task.CompletedTask;
        }

        // Read here, on the writer's loop between transactions: the engine rows as this commit left them.
        // A keys-only group carries no entry: the replica stores its idempotency rows at the sequence it holds.
        var batch = new ReplicaBatch(
            Epoch,
            commit.KeysOnly
                ? []
                : [new ReplicatedEntry(commit.Sequence, commit.AtUnixMs, commit.Ddl is null ? (int)ChangeKind.Data : (int)ChangeKind.Ddl, commit.Changeset, commit.Ddl, commit.Epoch)],
            commit.IdempotencyRows ?? [],
            ReplicaLog.ReadMeta(_writer()),
            ReplicaBatch.Now());
        // A replica too far behind (a slower disk than the majority's, or unreachable without being declared dead) is
        // not sent more: each queued batch holds its changeset in memory. It counts as not acknowledging this commit; once
        // its queue drains, the next batch finds the gap and it catches up from the log.
        var sends = _peers.Select(peer => peer.Pending >= MaxPendingSends
            ? Task.FromException(new ShardException(ShardErrorCode.Unavailable, $"The replica on silo '{peer.Silo}' has {MaxPendingSends} batches queued; it catches up from the log."))
            : peer.Enqueue(() => WatchedAsync(peer, () => SendAsync(peer, batch)))).ToList();
        return AwaitMajorityAsync(sends, commit.Sequence);
    }

    /// <summary>Brings every replica up to this copy's newest commit; returns once a majority of copies hold it.</summary>
    public Task SyncAsync(long sequence)
    {
        if (_peers.Count == 0)
        {
            return Task.CompletedTask;
        }

        var sends = _peers.Select(peer => peer.Enqueue(() => WatchedAsync(peer, () =>
        {
            peer.Synced = false;
            return CatchUpAsync(peer);
        }))).ToList();
        return AwaitMajorityAsync(sends, sequence);
    }

    private async Task AwaitMajorityAsync(List<Task> sends, long sequence)
    {
        var needed = Needed;
        if (needed == 0)
        {
            return;
        }

        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var acknowledged = 0;
        var failed = 0;
        ShardException? fenced = null;
        foreach (var send in sends)
        {
            _ = send.ContinueWith(
                t =>
                {
                    if (t.IsCompletedSuccessfully)
                    {
                        if (Interlocked.Increment(ref acknowledged) >= needed)
                        {
                            done.TrySetResult();
                        }

                        return;
                    }

                    if (t.Exception?.GetBaseException() is FencedException stale)
                    {
                        fenced = new ShardException(ShardErrorCode.Unavailable, stale.Message);
                        done.TrySetException(fenced);
                    }

                    if (Interlocked.Increment(ref failed) > sends.Count - needed)
                    {
                        done.TrySetException(NoMajority(sequence, sends.Count - Volatile.Read(ref failed)));
                    }
                },
                CancellationToken.None,
                TaskContinuationOptions.ExecuteSynchronously,
                TaskScheduler.Default);
        }

        try
        {
            await done.Task.WaitAsync(_timeout).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            throw NoMajority(sequence, Volatile.Read(ref acknowledged));
        }
    }

    private ShardException NoMajority(long sequence, int reachable)
    {
        var message = $"Commit {sequence} of shard {_shard} is not acknowledged: a majority of its {Copies} copies did not confirm it in time ({reachable} replicas answered); retry with the same idempotency key.";
        _onLost(message);
        return new ShardException(ShardErrorCode.Unavailable, message);
    }

    private async Task SendAsync(Peer peer, ReplicaBatch batch)
    {
        if (!peer.Synced)
        {
            await CatchUpAsync(peer).ConfigureAwait(false);
            return;
        }

        var result = await Call(peer, r => r.ApplyAsync(batch)).ConfigureAwait(false);
        switch (result.Outcome)
        {
            case ReplicaApplyOutcome.Applied:
                Interlocked.Exchange(ref peer.Matched, result.Seq);
                Interlocked.Exchange(ref peer.AckedAt, Environment.TickCount64);
                return;
            case ReplicaApplyOutcome.StaleEpoch:
                throw Fenced(peer, result.Epoch);
            default:
                peer.Synced = false;
                await CatchUpAsync(peer).ConfigureAwait(false);
                return;
        }
    }

    /// <summary>Brings <paramref name="peer"/> to this copy's newest commit: from its tail when its log matches, else by a seed.</summary>
    private async Task CatchUpAsync(Peer peer)
    {
        var status = await Call(peer, r => r.FenceAsync(0)).ConfigureAwait(false);
        if (status.Epoch > Epoch)
        {
            throw Fenced(peer, status.Epoch);
        }

        using var reader = OpenReader();
        var matches = status.Exists
            && (status.Seq == 0 || (status.LastEntryEpoch >= 0 && ReplicaLog.EntryEpoch(reader, status.Seq) == status.LastEntryEpoch))
            && status.Seq <= ChangeLog.CurrentSequence(reader);
        var matched = status.Seq;
        var shipped = false;
        if (!matches)
        {
            matched = await SeedAsync(peer, reader).ConfigureAwait(false);
            shipped = true;
        }

        while (true)
        {
            var tail = ReplicaLog.ReadTail(reader, matched, TailBatch);
            if (tail is null)
            {
                if (matched >= ChangeLog.CurrentSequence(reader))
                {
                    break;
                }

                // The log no longer holds what follows (pruned): only a whole copy brings it up to date.
                matched = await SeedAsync(peer, reader).ConfigureAwait(false);
                continue;
            }

            if (tail.Count == 0)
            {
                break;
            }

            shipped = true;
            var result = await Call(peer, r => r.ApplyAsync(new ReplicaBatch(Epoch, tail, [], ReplicaLog.ReadMeta(reader)))).ConfigureAwait(false);
            switch (result.Outcome)
            {
                case ReplicaApplyOutcome.Applied:
                    matched = result.Seq;
                    break;
                case ReplicaApplyOutcome.StaleEpoch:
                    throw Fenced(peer, result.Epoch);
                case ReplicaApplyOutcome.Gap:
                    matched = result.Seq;
                    break;
                default:
                    matched = await SeedAsync(peer, reader).ConfigureAwait(false);
                    break;
            }
        }

        // Idempotency rows are not in the log: a replica that was sent entries gets them in one go (and the epoch
        // of this primary even when nothing was missing, so that an older primary is refused from now on). Only the
        // keys of commits the copy holds: the writer goes on committing meanwhile, and a key without its data would
        // answer a retry "done" on this copy if it were promoted. Later keys come with their own batches.
        var keys = shipped
            ? reader.Query("SELECT key, at_ms, outcome FROM _idempotency")
                .Where(r => StoredSequence(r[2].AsText) <= matched)
                .Select(r => new ReplicatedKey(r[0].AsText, r[1].AsInteger, r[2].AsText)).ToList()
            : [];
        var final = await Call(peer, r => r.ApplyAsync(new ReplicaBatch(Epoch, [], keys, ReplicaLog.ReadMeta(reader), ReplicaBatch.Now()))).ConfigureAwait(false);
        if (final.Outcome == ReplicaApplyOutcome.StaleEpoch)
        {
            throw Fenced(peer, final.Epoch);
        }

        Interlocked.Exchange(ref peer.Matched, matched);
        Interlocked.Exchange(ref peer.AckedAt, Environment.TickCount64);
        peer.Synced = true;
        LogCaughtUp(_shard, peer.Silo, matched);
    }

    /// <summary>The commit sequence an idempotency row's stored outcome names (unreadable: kept, as before).</summary>
    private static long StoredSequence(string outcome)
    {
        try
        {
            return System.Text.Json.JsonSerializer.Deserialize(outcome, Writes.GrainsJsonContext.Default.StoredOutcome)?.Sequence ?? long.MinValue;
        }
        catch (System.Text.Json.JsonException)
        {
            return long.MinValue;
        }
    }

    /// <summary>Sends a whole consistent copy of the file and the snapshots; returns the sequence the copy holds.</summary>
    private async Task<long> SeedAsync(Peer peer, ShardConnection reader)
    {
        var seedId = "seed-" + Guid.NewGuid().ToString("N")[..12];
        var copy = _paths.Database + "." + seedId;
        long sequence;
        try
        {
            using (var destination = new SqliteConnection($"Data Source={copy};Pooling=False"))
            {
                destination.Open();
                SqliteBackup.Copy(reader.Connection, destination);
            }

            using (var copied = new ShardConnection(copy, readOnly: true, planCacheSize: 4))
            {
                sequence = ChangeLog.CurrentSequence(copied);
            }

            var files = new List<(string Relative, string Source)> { (Path.GetRelativePath(_dataRoot, _paths.Database), copy) };
            if (Directory.Exists(_paths.Snapshots))
            {
                files.AddRange(Directory.EnumerateFiles(_paths.Snapshots)
                    .Where(f => !f.Contains(".move-", StringComparison.Ordinal) && !f.EndsWith(".tmp", StringComparison.Ordinal) && !SnapshotStore.IsTemporary(f))
                    .Select(f => (Path.GetRelativePath(_dataRoot, f), f)));
            }

            var agent = _grains.GetGrain<ISiloAgent>(peer.Silo);
            foreach (var (relative, source) in files)
            {
                Interlocked.Add(ref _seededBytes, await SendFileAsync(agent, seedId, relative, source).ConfigureAwait(false));
            }

            if (!await Call(peer, r => r.InstallSeedAsync(seedId, files.Select(f => f.Relative).ToList(), Epoch)).ConfigureAwait(false))
            {
                throw Fenced(peer, Epoch + 1);
            }
        }
        finally
        {
            FileDurability.DeleteIfExists(copy);
        }

        LogSeeded(_shard, peer.Silo, sequence);
        return sequence;
    }

    private static async Task<long> SendFileAsync(ISiloAgent agent, string seedId, string relative, string source)
    {
        await using var file = new FileStream(source, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        var buffer = new byte[SeedChunkBytes];
        long offset = 0;
        while (true)
        {
            var read = await file.ReadAtLeastAsync(buffer, buffer.Length, throwOnEndOfStream: false).ConfigureAwait(false);
            await agent.ReceiveAsync(seedId, relative, offset, read == buffer.Length ? buffer : buffer[..read]).ConfigureAwait(false);
            offset += read;
            if (read < buffer.Length)
            {
                return offset;
            }
        }
    }

    private ShardConnection OpenReader() => new(_paths.Database, readOnly: true, planCacheSize: 8);

    private async Task<T> Call<T>(Peer peer, Func<IShardReplica, Task<T>> call)
    {
        if (!_isActive(peer.Silo))
        {
            // Not called: Orleans would place the replica grain on another silo, where its activation fails (and is
            // logged with its stack) on every retry while the silo is gone.
            peer.Synced = false;
            throw new ShardException(ShardErrorCode.Unavailable, $"The replica's silo '{peer.Silo}' is not an active member of the cluster; it catches up once it is.");
        }

        try
        {
            return await call(peer.Replica).WaitAsync(_timeout).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not FencedException)
        {
            peer.Synced = false;
            throw;
        }
    }

    private FencedException Fenced(Peer peer, long epoch)
    {
        var message = $"Shard {_shard}: replica on silo '{peer.Silo}' has seen epoch {epoch}, newer than this primary's {Epoch}; a newer primary took over.";
        _onFenced(message);
        return new FencedException(message);
    }

    /// <summary>A replica refused this primary: a newer one exists.</summary>
    private sealed class FencedException(string message) : Exception(message);

    /// <summary>
    /// Runs one send to <paramref name="peer"/>; a failure is logged (at most one warning per replica every 10 s, with
    /// how many failed since) before it counts against the majority — a replica that keeps failing is visible in the
    /// logs, not only the lost majority it may cause.
    /// </summary>
    private async Task WatchedAsync(Peer peer, Func<Task> send)
    {
        try
        {
            await send().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            var failures = Interlocked.Increment(ref peer.FailuresSinceWarning);
            var now = Environment.TickCount64;
            var last = Interlocked.Read(ref peer.WarnedAt);
            if (now - last >= 10_000 && Interlocked.CompareExchange(ref peer.WarnedAt, now, last) == last)
            {
                Interlocked.Exchange(ref peer.FailuresSinceWarning, 0);
                LogReplicaFailed(_shard, peer.Silo, failures, ex.GetType().Name, ex.Message);
            }

            throw;
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Shard {Shard}: replica on silo {Silo} failed {Failures} send(s) in the last 10 s or more; last: {Error}: {Message}")]
    private partial void LogReplicaFailed(string shard, string silo, long failures, string error, string message);

    /// <summary>Batches queued to one replica beyond which new ones are not sent to it (it catches up from the log instead).</summary>
    internal const int MaxPendingSends = 256;

    private sealed class Peer(string silo, IShardReplica replica)
    {
        private readonly Lock _lock = new();
        private Task _last = Task.CompletedTask;
        private int _pending;

        /// <summary>Sends queued or running.</summary>
        public int Pending => Volatile.Read(ref _pending);

        public string Silo { get; } = silo;

        public IShardReplica Replica { get; } = replica;

        public long Matched = -1;

        /// <summary>When this replica last acknowledged anything (<see cref="Environment.TickCount64"/>); when the pipeline was made, at first.</summary>
        public long AckedAt = Environment.TickCount64;

        public volatile bool Synced;

        /// <summary>When a failed send was last logged (<see cref="Environment.TickCount64"/>), and the failures since.</summary>
        public long WarnedAt = long.MinValue / 2;

        public long FailuresSinceWarning;

        /// <summary>Completes when every send queued so far has ended (its outcome is not observed).</summary>
        public Task IdleAsync()
        {
            lock (_lock)
            {
                return _last.ContinueWith(static _ => { }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            }
        }

        /// <summary>Runs <paramref name="send"/> after every earlier send to this replica: batches arrive in order.</summary>
        public Task Enqueue(Func<Task> send)
        {
            lock (_lock)
            {
                Interlocked.Increment(ref _pending);
                var previous = _last;
                var next = RunAfterAsync(previous, send);
                _last = next;
                return next;
            }
        }

        private async Task RunAfterAsync(Task previous, Func<Task> send)
        {
            try
            {
                try
                {
                    await previous.ConfigureAwait(false);
                }
                catch
                {
                    // The earlier send failed: this one starts with a catch-up (the failure marked the replica unsynced).
                }

                await send().ConfigureAwait(false);
            }
            finally
            {
                Interlocked.Decrement(ref _pending);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Shard {Shard}: replica on silo {Silo} caught up to commit {Sequence}")]
    private partial void LogCaughtUp(string shard, string silo, long sequence);

    [LoggerMessage(Level = LogLevel.Information, Message = "Shard {Shard}: replica on silo {Silo} seeded with a whole copy at commit {Sequence}")]
    private partial void LogSeeded(string shard, string silo, long sequence);
}
