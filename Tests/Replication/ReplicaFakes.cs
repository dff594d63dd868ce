using OrleansShards.Grains.Replication;
using OrleansShards.Grains.Storage;

namespace OrleansShards.Tests.Replication;

/// <summary>
/// Replicas for tests of the primary's pipelines and of promotions: real SQLite copies applying through
/// <see cref="ReplicaLog"/>, handed out by a grain factory. Nested (not visible outside the tests deriving from this
/// class) so that Orleans does not take <see cref="FileReplica"/> for an implementation of the grain interface.
/// </summary>
public abstract class ReplicaFakes
{
    /// <summary>Hands out the test's replicas for <c>IShardReplica</c> keys (<c>{silo}/{shard}</c>); nothing else is asked of it.</summary>
    private protected sealed class ReplicaFactory(Func<string, IShardReplica> replica) : IGrainFactory
    {
        public TGrainInterface GetGrain<TGrainInterface>(string primaryKey, string? grainClassNamePrefix = null)
            where TGrainInterface : IGrainWithStringKey =>
            typeof(TGrainInterface) == typeof(IShardReplica) ? (TGrainInterface)replica(primaryKey) : throw new NotSupportedException();

        public TGrainInterface GetGrain<TGrainInterface>(Guid primaryKey, string? grainClassNamePrefix = null)
            where TGrainInterface : IGrainWithGuidKey => throw new NotSupportedException();

        public TGrainInterface GetGrain<TGrainInterface>(long primaryKey, string? grainClassNamePrefix = null)
            where TGrainInterface : IGrainWithIntegerKey => throw new NotSupportedException();

        public TGrainInterface GetGrain<TGrainInterface>(Guid primaryKey, string keyExtension, string? grainClassNamePrefix = null)
            where TGrainInterface : IGrainWithGuidCompoundKey => throw new NotSupportedException();

        public TGrainInterface GetGrain<TGrainInterface>(long primaryKey, string keyExtension, string? grainClassNamePrefix = null)
            where TGrainInterface : IGrainWithIntegerCompoundKey => throw new NotSupportedException();

        public TGrainObserverInterface CreateObjectReference<TGrainObserverInterface>(IGrainObserver obj)
            where TGrainObserverInterface : IGrainObserver => throw new NotSupportedException();

        public void DeleteObjectReference<TGrainObserverInterface>(IGrainObserver obj)
            where TGrainObserverInterface : IGrainObserver => throw new NotSupportedException();

        public IGrain GetGrain(Type grainInterfaceType, Guid grainPrimaryKey) => throw new NotSupportedException();

        public IGrain GetGrain(Type grainInterfaceType, long grainPrimaryKey) => throw new NotSupportedException();

        public IGrain GetGrain(Type grainInterfaceType, string grainPrimaryKey) => throw new NotSupportedException();

        public IGrain GetGrain(Type grainInterfaceType, Guid grainPrimaryKey, string keyExtension) => throw new NotSupportedException();

        public IGrain GetGrain(Type grainInterfaceType, long grainPrimaryKey, string keyExtension) => throw new NotSupportedException();

        public TGrainInterface GetGrain<TGrainInterface>(GrainId grainId)
            where TGrainInterface : IAddressable => throw new NotSupportedException();

        public IAddressable GetGrain(GrainId grainId) => throw new NotSupportedException();

        public IAddressable GetGrain(GrainId grainId, GrainInterfaceType interfaceType) => throw new NotSupportedException();

        public IAddressable GetGrain(Type grainInterfaceType, IdSpan grainPrimaryKey, string grainClassNamePrefix) => throw new NotSupportedException();

        public IAddressable GetGrain(Type grainInterfaceType, IdSpan grainPrimaryKey) => throw new NotSupportedException();
    }

    /// <summary>A replica as a real SQLite copy applying through <see cref="ReplicaLog"/>; its applies can be held.</summary>
    private protected sealed class FileReplica(ShardConnection connection) : IShardReplica, IDisposable
    {
        private readonly Lock _lock = new();
        private TaskCompletionSource? _held;
        private long _fence;

        public ShardConnection Connection { get; } = connection;

        public List<ReplicaBatch> Received { get; } = [];

        public List<ReplicaBatch> Snapshot()
        {
            lock (_lock)
            {
                return [.. Received];
            }
        }

        public void Hold() => _held = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Release() => _held?.TrySetResult();

        /// <summary>When set, the replica holds no copy (a replica named in the map before its seed arrived).</summary>
        public bool Missing { get; set; }

        public Task<ReplicaStatus> FenceAsync(long epoch)
        {
            lock (_lock)
            {
                _fence = Math.Max(_fence, epoch);
                return Task.FromResult(Missing ? new ReplicaStatus(false, _fence, 0, -1) : ReplicaLog.Status(Connection, _fence));
            }
        }

        public async Task<ReplicaApplyResult> ApplyAsync(ReplicaBatch batch)
        {
            lock (_lock)
            {
                Received.Add(batch);
            }

            if (_held is { } held)
            {
                await held.Task;
            }

            lock (_lock)
            {
                return ReplicaLog.Apply(Connection, batch, _fence);
            }
        }

        public Task<List<ReplicatedEntry>?> ReadTailAsync(long afterSeq, int max)
        {
            lock (_lock)
            {
                return Task.FromResult(ReplicaLog.ReadTail(Connection, afterSeq, max));
            }
        }

        public Task<ReplicaBatch?> ReadStateAsync()
        {
            lock (_lock)
            {
                return Task.FromResult<ReplicaBatch?>(new ReplicaBatch(
                    _fence,
                    [],
                    [.. Connection.Query("SELECT key, at_ms, outcome FROM _idempotency").Select(r => new ReplicatedKey(r[0].AsText, r[1].AsInteger, r[2].AsText))],
                    ReplicaLog.ReadMeta(Connection)));
            }
        }

        public Task<long?> EntryEpochAsync(long seq)
        {
            lock (_lock)
            {
                return Task.FromResult(ReplicaLog.EntryEpoch(Connection, seq));
            }
        }

        public Task<bool> InstallSeedAsync(string seedId, IReadOnlyList<string> relativePaths, long epoch) => throw new NotSupportedException();

        public Task<QueryResult?> ReadAsync(QueryRequest request) => throw new NotSupportedException();

        public Task DropAsync(long epoch) => throw new NotSupportedException();

        /// <summary>Whether the copy was released to a primary's activation (a promotion).</summary>
        public bool Released { get; private set; }

        public Task ReleaseAsync(long epoch)
        {
            lock (_lock)
            {
                _fence = Math.Max(_fence, epoch);
            }

            Released = true;
            return Task.CompletedTask;
        }

        public Task<ReplicaUpkeep?> MaintainAsync() => throw new NotSupportedException();

        public void Dispose() => Connection.Dispose();
    }
}
