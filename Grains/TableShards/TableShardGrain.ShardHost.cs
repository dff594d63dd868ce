using OrleansShards.Grains.Sharding;
using OrleansShards.Grains.Storage;
using OrleansShards.Grains.Storage.Native;
using OrleansShards.Grains.Writes;

namespace OrleansShards.Grains.TableShards;

/// <summary>
/// The reads and writes sharding makes on a table file (see <see cref="IShardHost"/>): the file's side of a split or
/// merge is <see cref="ShardingParticipant"/>; what stays here touches the activation (reset, destroy, DDL).
/// </summary>
internal sealed partial class TableShardGrain
{
    public Task<ShardingState> GetShardingStateAsync(CancellationToken cancellationToken = default) =>
        Task.FromResult(new ShardingState(_router?.Layout, _operation));

    public Task<long> GetSequenceAsync(CancellationToken cancellationToken = default) => Task.FromResult(_writer.Sequence);

    public Task<TableShape> DescribeAsync(string table, string key, string? keyPath, CancellationToken cancellationToken = default) =>
        _participant.DescribeAsync(table, key, keyPath, cancellationToken);

    public Task<long> CountRowsAsync(string table, CancellationToken cancellationToken = default) => _participant.CountRowsAsync(table, cancellationToken);

    public Task<IReadOnlyList<SqlValue[]>> ReadInternalAsync(string sql, IReadOnlyList<SqlValue> parameters, CancellationToken cancellationToken = default) =>
        _participant.ReadInternalAsync(sql, parameters, cancellationToken);

    public Task<IReadOnlyList<SqlValue[]>> ReadChunkAsync(string sql, IReadOnlyList<SqlValue> parameters, CancellationToken cancellationToken = default) =>
        _participant.ReadChunkAsync(sql, parameters, cancellationToken);

    public Task<IReadOnlyList<SqlValue[]?>> ReadRowsAsync(string sql, IReadOnlyList<SqlValue[]> keys, CancellationToken cancellationToken = default) =>
        _participant.ReadRowsAsync(sql, keys, cancellationToken);

    public Task<TailChunk> ReadTailAsync(long afterSequence, int maxCommits, CancellationToken cancellationToken = default) =>
        _participant.ReadTailAsync(afterSequence, maxCommits, cancellationToken);

    public Task ApplyAsync(ApplyBatch batch, CancellationToken cancellationToken = default) => _participant.ApplyAsync(batch, cancellationToken);

    public Task FinishMoveAsync(IReadOnlyList<string> tables, CancellationToken cancellationToken = default) => _participant.FinishMoveAsync(tables, cancellationToken);

    public Task DropStagingAsync(IReadOnlyList<string> tables, CancellationToken cancellationToken = default) => _participant.DropStagingAsync(tables, cancellationToken);

    public Task TruncateAsync(IReadOnlyList<string> tables, CancellationToken cancellationToken = default) => _participant.TruncateAsync(tables, cancellationToken);

    public async Task ResetAsync(IReadOnlyList<string> schema, CancellationToken cancellationToken = default)
    {
        await CloseStorageAsync();
        DeleteFiles();
        OpenStorage();
        LoadSharding();
        await ExecuteSchemaAsync(schema, cancellationToken);
    }

    public async Task CheckDdlAsync(DdlRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        RequireSql(request.Query);
        await _writer.EnqueueAsync(new WriteWork(WriteKind.Ddl, [new Statement(request.Query)]) { DryRun = true });
    }

    public async Task ExecuteSchemaAsync(IReadOnlyList<string> schema, CancellationToken cancellationToken = default)
    {
        if (schema.Count == 0)
        {
            return;
        }

        // Logged as DDL like a tenant's: a restore of this shard to any of its bookmarks finds its tables.
        await _writer.EnqueueAsync(new WriteWork(WriteKind.Ddl, [.. schema.Select(static sql => new Statement(sql))]));
        _readers.ClearPlanCaches();
        _coherence.TableInfo = null;
    }

    public async Task DestroyAsync(CancellationToken cancellationToken = default)
    {
        if (_destroyed)
        {
            return;
        }

        await CloseStorageAsync();
        DeleteFiles();
        _destroyed = true;
        _capacity.Remove(_shard);
        await DropReplicaCopiesAsync();
        await ReleaseOwnershipAsync();
        if (await this.GetReminder(CapacityReminder) is { } reminder)
        {
            await this.UnregisterReminder(reminder);
        }

        DeactivateOnIdle();
    }

    private void DeleteFiles()
    {
        // Logs first: a crash between deletions must never leave a -wal that SQLite would apply to a later
        // file of the same name; a leftover .db alone is a complete, cleanly closed database.
        foreach (var file in new[] { _paths.Wal, _paths.Database + "-shm", _paths.Database + "-journal", _paths.Database })
        {
            File.Delete(file);
        }

        if (Directory.Exists(_paths.Snapshots))
        {
            Directory.Delete(_paths.Snapshots, recursive: true);
        }
    }
}
