using System.Collections.Concurrent;

namespace OrleansShards.Grains.Sharding;

/// <summary>
/// The migrations running in this silo, by operation id. The registry grain drives a migration's copy and
/// catch-up, and the base table runs its switch; they hand it over by id (<see cref="IShardHost.SwitchAsync"/>),
/// so no live object crosses the grain boundary. Both grains of one table run on the silo that holds its file.
/// </summary>
internal sealed class ShardMigrations
{
    private readonly ConcurrentDictionary<string, ShardMigration> _running = new(StringComparer.Ordinal);

    public void Add(ShardMigration migration) => _running[migration.Operation.Id] = migration;

    public ShardMigration? Find(string operationId) => _running.TryGetValue(operationId, out var migration) ? migration : null;

    public void Remove(string operationId) => _running.TryRemove(operationId, out _);
}
