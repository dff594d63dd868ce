using System.Collections.Concurrent;

namespace OrleansShards.Grains.Cluster;

/// <summary>The embedded silo's map: it owns every shard; epochs are counted in memory above the file's.</summary>
internal sealed class LocalShardOwnership : IShardOwnership
{
    private readonly ConcurrentDictionary<string, ShardOwner> _owners = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, long> _dropped = new(StringComparer.Ordinal);

    public bool IsDistributed => false;

    public Task<ShardOwner?> GetAsync(string shard, CancellationToken cancellationToken = default) =>
        Task.FromResult(_owners.TryGetValue(shard, out var owner) ? owner : null);

    public Task<ShardOwner> ClaimAsync(string shard, string silo, long minEpoch, CancellationToken cancellationToken = default) =>
        Task.FromResult(_owners.AddOrUpdate(
            shard,
            static (key, state) => new ShardOwner(state.silo, Math.Max(state.minEpoch, state.dropped.TryRemove(key, out var was) ? was : 0) + 1),
            static (_, existing, state) => existing with { Primary = state.silo, Epoch = Math.Max(existing.Epoch, state.minEpoch) + 1 },
            (silo, minEpoch, dropped: _dropped)));

    public Task<ShardOwner?> TransferAsync(string shard, string from, string to, long epoch, CancellationToken cancellationToken = default)
    {
        if (_owners.TryGetValue(shard, out var owner) && owner.Primary == from && owner.Epoch == epoch)
        {
            var moved = new ShardOwner(to, epoch + 1, string.Join(',', owner.Replicas.Where(r => r != to)));
            return Task.FromResult<ShardOwner?>(_owners.TryUpdate(shard, moved, owner) ? moved : null);
        }

        return Task.FromResult<ShardOwner?>(null);
    }

    public Task<ShardOwner?> SetReplicasAsync(string shard, string primary, long epoch, IReadOnlyList<string> replicas, CancellationToken cancellationToken = default) =>
        Replace(shard, primary, epoch, owner => owner with { ReplicaList = string.Join(',', replicas) });

    public Task<ShardOwner?> FailoverAsync(string shard, string from, long epoch, string to, IReadOnlyList<string> replicas, CancellationToken cancellationToken = default) =>
        Replace(shard, from, epoch, _ => new ShardOwner(to, epoch + 1, string.Join(',', replicas)));

    private Task<ShardOwner?> Replace(string shard, string primary, long epoch, Func<ShardOwner, ShardOwner> change)
    {
        if (_owners.TryGetValue(shard, out var owner) && owner.Primary == primary && owner.Epoch == epoch)
        {
            var changed = change(owner);
            return Task.FromResult<ShardOwner?>(_owners.TryUpdate(shard, changed, owner) ? changed : null);
        }

        return Task.FromResult<ShardOwner?>(null);
    }

    public Task ReleaseAsync(string shard, string silo, long epoch, CancellationToken cancellationToken = default)
    {
        if (_owners.TryGetValue(shard, out var owner) && owner.Primary == silo && owner.Epoch == epoch)
        {
            if (_owners.TryRemove(new KeyValuePair<string, ShardOwner>(shard, owner)))
            {
                _dropped[shard] = owner.Epoch;
            }
        }

        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<(string Shard, ShardOwner Owner)>> ListTenantAsync(string tenant, CancellationToken cancellationToken = default) =>
        Task.FromResult<IReadOnlyList<(string, ShardOwner)>>(
            _owners.Where(e => e.Key.StartsWith(tenant + ":", StringComparison.Ordinal)).Select(e => (e.Key, e.Value)).ToList());

    public Task<IReadOnlyDictionary<string, long>> DroppedAsync(CancellationToken cancellationToken = default) =>
        Task.FromResult<IReadOnlyDictionary<string, long>>(new Dictionary<string, long>(_dropped, StringComparer.Ordinal));

    public Task SetDrainingAsync(string silo, bool draining, CancellationToken cancellationToken = default) => Task.CompletedTask;

    public Task<IReadOnlyCollection<string>> DrainingAsync(CancellationToken cancellationToken = default) =>
        Task.FromResult<IReadOnlyCollection<string>>([]);

    public Task<IReadOnlyDictionary<string, long>> PrimaryCountsAsync(CancellationToken cancellationToken = default) =>
        Task.FromResult<IReadOnlyDictionary<string, long>>(_owners.Values.GroupBy(o => o.Primary).ToDictionary(g => g.Key, g => (long)g.Count()));

    public Task<IReadOnlyList<(string Shard, ShardOwner Owner)>> ListAsync(string? silo = null, CancellationToken cancellationToken = default) =>
        Task.FromResult<IReadOnlyList<(string, ShardOwner)>>(
            _owners.Where(e => silo is null || e.Value.Primary == silo).Select(e => (e.Key, e.Value)).ToList());
}
