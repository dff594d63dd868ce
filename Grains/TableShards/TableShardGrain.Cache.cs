using OrleansShards.Grains.Caching;

namespace OrleansShards.Grains.TableShards;

/// <summary>
/// The grain's side of caching: the cache coherence itself is a plain class (<see cref="ShardCacheCoherence"/>: outbox,
/// consistency, populates, refreshes, hot keys), one per activation and one of the writer's commit observers; here are
/// the calls that need the grain's readers and turns (warming, the table's schema).
/// </summary>
internal sealed partial class TableShardGrain
{
    /// <summary>The cache coherence of this activation (created on activation, before anything is opened).</summary>
    private ShardCacheCoherence _coherence = null!;

    private ShardCacheOptions CacheOptions => _cache.Options;

    private void CreateCoherence() => _coherence = new ShardCacheCoherence(
        _shard, _tenant, _table, _cache, TimeProvider, _grains, request => _grains.GetGrain<ITableShard>(_shard).WarmAsync(request), _logger);

    /// <summary>Prepares the cache for a (re)opened writer: activation, and after a restore or reshard swapped the file.</summary>
    private void AttachCache() => _coherence.Attach(_writerConnection);

    private void OpenCache() => _coherence.Open(_writerConnection);

    /// <summary>Stops publishing; the file keeps the outbox's progress and the hot keys only while it is still this shard's.</summary>
    private async Task CloseCacheAsync()
    {
        if (_coherence is null)
        {
            return;
        }

        await _coherence.StopAsync();
        if (_writer is not null && !_destroyed && !_fenced && _movedTo is null)
        {
            await _coherence.PersistAsync(_writer);
        }
    }

    /// <summary>The consistency a read gets.</summary>
    private Consistency ResolveConsistency(Consistency? requested) => _coherence.Resolve(requested);

    /// <summary>A cache answer for <paramref name="key"/> allowed by the consistency, or null (go to the shard).</summary>
    private async Task<(CacheEntry Entry, string ServedBy, long AgeMs)?> TryCacheAsync(
        string key, Consistency consistency, long? maxStalenessMs, long minSequence, bool versioned, CancellationToken cancellationToken) =>
        await _coherence.TryGetAsync(key, consistency, maxStalenessMs, minSequence, versioned, cancellationToken) is { } hit
            ? (hit.Entry, hit.Stale ? ServedByCacheStale : ServedByCache, hit.AgeMs)
            : null;

    public async Task<WarmResult> WarmAsync(WarmRequest request, CancellationToken cancellationToken = default)
    {
        try
        {
            ArgumentNullException.ThrowIfNull(request);
            var lookups = new List<RowLookup>();
            lookups.AddRange((request.PrimaryKeys ?? []).Select(pk => new RowLookup(null, pk)));
            lookups.AddRange((request.Lookups ?? []).Select(l => new RowLookup(l.Column, l.Value)));
            if (request.HotKeys)
            {
                lookups.AddRange(_coherence.HotLookups());
            }

            var info = await GetTableInfoAsync(cancellationToken);
            int warmed = 0, skipped = 0;
            foreach (var lookup in lookups)
            {
                var (sql, key) = _coherence.PlanLookup(info, lookup.Column, lookup.Value);
                if (key is null)
                {
                    skipped++;
                    continue;
                }

                var sequence = _writer.Sequence;
                var readAt = TimeProvider.GetUtcNow().ToUnixTimeMilliseconds();
                var result = await ReadAsync(sql, [lookup.Value], cancellationToken);
                if (await _coherence.PopulateAsync(key, result.Columns, result.Rows, sequence, readAt, versioned: false))
                {
                    warmed++;
                }
                else
                {
                    skipped++;
                }
            }

            return new WarmResult(warmed, skipped);
        }
        catch (ShardException ex) when (CountError(ex))
        {
            throw;
        }
    }

    private async Task<TableInfo> GetTableInfoAsync(CancellationToken cancellationToken)
    {
        if (_coherence.TableInfo is { } info)
        {
            return info;
        }

        var reader = await _readers.RentAsync(cancellationToken);
        try
        {
            info = TableInfo.Load(reader, _table);
        }
        finally
        {
            _readers.Return(reader);
        }

        if (!info.Exists)
        {
            throw new ShardException(ShardErrorCode.NotFound, $"Table {_table} does not exist; create it with ddl.");
        }

        _coherence.TableInfo = info;
        return info;
    }

}
