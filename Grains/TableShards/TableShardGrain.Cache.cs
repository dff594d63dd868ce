using System.Text.Json;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using OrleansShards.Grains.Caching;
using OrleansShards.Grains.Storage.Native;
using OrleansShards.Grains.Writes;

namespace OrleansShards.Grains.TableShards;

/// <summary>
/// The cache side of the shard: the outbox (<see cref="InvalidationOutbox"/>, a plain class: events written in the
/// commit's transaction, published after COMMIT, replayed on activation), the consistency decision of reads, populates
/// stamped with the commit sequence, stale-while-revalidate refreshes, hot keys and warming.
/// </summary>
internal sealed partial class TableShardGrain
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, byte> _refreshing = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stopping = new();
    private readonly CacheInterest _interest;
    private InvalidationOutbox? _outboxState;
    private HotKeys _hot = null!;
    private TableInfo? _tableInfo;
    private long _cacheFloor;

    /// <summary>The outbox and publishing of this shard's invalidation events (a plain class; created on first use).</summary>
    private InvalidationOutbox Outbox => _outboxState ??= new InvalidationOutbox(
        _shard, _cache, _interest, TimeProvider, PublishOnceAsync, _logger);

    /// <summary>
    /// When this activation started: row and index entries stored at or before it were admitted by an earlier
    /// activation, whose <see cref="CacheInterest"/> window this one does not know, so they are never served.
    /// </summary>
    private long _activatedAtMs;

    private ShardCacheOptions CacheOptions => _cache.Options;

    /// <summary>Cache coherence of each commit: the outbox event, the pending keys, the publish.</summary>
    private sealed class CacheObserver(TableShardGrain grain) : ICommitObserver
    {
        public byte[]? BeforeCommit(CommitContext commit) => grain.Outbox.BuildPayload(commit);

        public void Committed(CommittedGroup commit) => grain.OnCommittedForCache(commit);

        public void Acknowledged(CommittedGroup commit) => grain.OnAcknowledgedForCache(commit);
    }

    /// <summary>Prepares the cache for a (re)opened writer: activation, and after a restore or reshard swapped the file.</summary>
    private void AttachCache()
    {
        Outbox.Keys.Reset();

        // Entries older than the newest schema change or restore are never used.
        _cacheFloor = Math.Max(_cacheFloor, _writerConnection.ExecuteScalar("SELECT coalesce(max(seq), 0) FROM _changes WHERE kind IN (1, 2)"));
        var info = TableInfo.Load(_writerConnection, _table);
        _tableInfo = info.Exists ? info : null;
    }

    private void OpenCache()
    {
        _hot = new HotKeys(CacheOptions.HotKeys);

        // Replay: every event still in the outbox is published again (the silo may have died between
        // COMMIT and publish); the invalidator skips the ones it already applied.
        Outbox.Replay(_writerConnection);

        foreach (var row in _writerConnection.Query("SELECT value FROM _meta WHERE key = 'cache:hot'"))
        {
            if (row[0].Kind == SqlValueKind.Text && JsonSerializer.Deserialize(row[0].AsText, CacheJsonContext.Default.ListHotKeyRecord) is { } saved)
            {
                foreach (var hot in saved)
                {
                    if (LookupKey(hot.Column, hot.Value) is { } key)
                    {
                        _hot.Touch(key, new RowLookup(hot.Column, hot.Value));
                    }
                }
            }
        }

        using (ExecutionContext.SuppressFlow())
        {
            Outbox.Start();
            if (_hot.Top().Count > 0)
            {
                // Re-warm hot keys once the activation completed (the call waits for it).
                _ = Task.Run(async () =>
                {
                    try
                    {
                        await _grains.GetGrain<ITableShard>(_shard).WarmAsync(new WarmRequest(HotKeys: true));
                    }
                    catch (Exception ex)
                    {
                        LogWarmFailed(ex, _shard);
                    }
                });
            }
        }
    }

    private async Task CloseCacheAsync()
    {
        await _stopping.CancelAsync();
        if (_outboxState is { } outbox)
        {
            await outbox.StopAsync();
        }

        var hot = _hot?.Top().Select(h => new HotKeyRecord(h.Lookup.Column, h.Lookup.Value)).ToList();
        var applied = _cache.Watermarks.Get(_shard);
        if (_writer is null || _destroyed || _fenced || _movedTo is not null || (hot is not { Count: > 0 } && applied <= (_outboxState?.DeletedThrough ?? 0)))
        {
            return;
        }

        try
        {
            // One last transaction: drop outbox rows whose events are applied, save the hot keys.
            await _writer.RunMaintenanceAsync(writer =>
            {
                writer.Execute("BEGIN IMMEDIATE");
                try
                {
                    writer.ExecuteInternal("DELETE FROM _outbox WHERE seq <= ?", applied);
                    if (hot is { Count: > 0 })
                    {
                        writer.ExecuteInternal("INSERT OR REPLACE INTO _meta(key, value) VALUES ('cache:hot', ?)",
                            JsonSerializer.Serialize(hot, CacheJsonContext.Default.ListHotKeyRecord));
                    }

                    writer.Execute("COMMIT");
                }
                catch
                {
                    writer.Execute("ROLLBACK");
                    throw;
                }

                return Task.CompletedTask;
            });
        }
        catch (ShardException ex)
        {
            LogWarmFailed(ex, _shard);
        }
    }

    /// <summary>
    /// On the writer loop, after COMMIT and before the writes are acknowledged: everything a read right
    /// after the acknowledgement consults is updated here (the floor, the table info, the outbox rows, and
    /// the pending set, which keeps a cached read of a changed key from using an entry older than the
    /// commit until the invalidator applied it). The event is published by <see cref="OnAcknowledgedForCache"/>.
    /// </summary>
    private void OnCommittedForCache(CommittedGroup group)
    {
        if (group.Ddl is not null || group.IsRestore)
        {
            // A schema change, or a restore (the whole content changed): no entry older than it is used again; after a
            // restore the invalidator flushes the table's keys.
            _cacheFloor = group.Sequence;
            _tableInfo = null;
        }

        Outbox.Committed(group);
    }

    /// <summary>
    /// On the writer loop, once the commit's writes are acknowledged, still in commit order: the event is
    /// published and the hot keys it touched are refreshed ahead. Neither is needed for a read right after
    /// the acknowledgement (the pending set already covers the commit), so neither delays it.
    /// </summary>
    private void OnAcknowledgedForCache(CommittedGroup group)
    {
        if (Outbox.Acknowledged(group) is not { } invalidation)
        {
            return;
        }

        if (CacheOptions.HotKeys > 0 && invalidation.Keys.Count > 0)
        {
            var top = _hot.TopSnapshot();
            var ahead = new List<RowLookup>();
            foreach (var key in invalidation.Keys)
            {
                if (top.TryGetValue(key, out var lookup))
                {
                    ahead.Add(lookup);
                }
            }

            if (ahead.Count > 0)
            {
                StartRefresh(ahead);
            }
        }
    }

    /// <summary>Delivers one invalidation event: the invalidation stream, or the invalidator grain without streams.</summary>
    private Task PublishOnceAsync(InvalidationEvent invalidation) => _cache.Streams is { } streams
        ? streams.GetStream<InvalidationEvent>(StreamId.Create(InvalidationStream.Namespace, _shard)).OnNextAsync(invalidation)
        : _grains.GetGrain<ICacheInvalidator>(_shard).InvalidateAsync(invalidation);

    /// <summary>The consistency a read gets.</summary>
    private Consistency ResolveConsistency(Consistency? requested) => requested ?? CacheOptions.DefaultFor(_tenant, _table);

    /// <summary>
    /// A cache answer for <paramref name="key"/> allowed by the consistency, or null (go to the shard).
    /// Any store failure is a miss.
    /// </summary>
    private async Task<(CacheEntry Entry, string ServedBy, long AgeMs)?> TryCacheAsync(
        string key, Consistency consistency, long? maxStalenessMs, long minSequence, bool versioned, CancellationToken cancellationToken)
    {
        var nowMs = TimeProvider.GetUtcNow().ToUnixTimeMilliseconds();
        var ttlMs = (long)CacheOptions.Ttl.TotalMilliseconds;
        var lifetimeMs = (long)CacheOptions.EntryLifetime.TotalMilliseconds;
        if (!versioned)
        {
            minSequence = Math.Max(minSequence, Outbox.Pending.RequiredSequence(key, _cache.Watermarks.Get(_shard), nowMs, lifetimeMs));
        }

        CacheEntry? entry;
        try
        {
            entry = (await _cache.Store.GetManyAsync([key], cancellationToken))[0];
        }
        catch (CacheUnavailableException)
        {
            _cache.Metrics.Error(_shard);
            return null;
        }

        if (entry is null || entry.IsTombstone || entry.Sequence < minSequence || entry.Sequence < _cacheFloor
            || (!versioned && entry.StoredAtUnixMs <= _activatedAtMs))
        {
            return null;
        }

        var age = Math.Max(0, nowMs - entry.StoredAtUnixMs);
        var limit = consistency == Consistency.Bounded
            ? Math.Min(maxStalenessMs ?? ttlMs, lifetimeMs)
            : versioned ? ttlMs : lifetimeMs;
        if (age > limit)
        {
            return null;
        }

        return (entry, age <= ttlMs ? ServedByCache : ServedByCacheStale, age);
    }

    /// <summary>
    /// Populates without holding the read turn: the answer goes back at once and the write to the
    /// store completes on its own (a slow store must not hold up the shard). Failures are counted.
    /// </summary>
    private void StartPopulate(string key, QueryResult result, long sequence, long readAtMs, bool versioned)
    {
        _ = PopulateObservedAsync();

        async Task PopulateObservedAsync()
        {
            try
            {
                await PopulateAsync(key, result.Columns, result.Rows, sequence, readAtMs, versioned);
            }
            catch (Exception ex)
            {
                _cache.Metrics.Error(_shard);
                LogWarmFailed(ex, _shard);
            }
        }
    }

    /// <summary>
    /// Writes a shard answer to the cache, stamped with the sequence read before it (a lower bound of the state it holds).
    /// A row or index entry (not <paramref name="versioned"/>) is written only once <see cref="CacheInterest"/> admits it,
    /// which turns invalidation events on for as long as it can be served.
    /// </summary>
    private async Task<bool> PopulateAsync(string key, IReadOnlyList<string> columns, IReadOnlyList<SqlValue[]> rows, long sequence, long readAtMs, bool versioned)
    {
        if (!versioned)
        {
            // Read in the activation's first millisecond: stored as 1 ms later, so it is not taken for an earlier activation's entry.
            readAtMs = Math.Max(readAtMs, _activatedAtMs + 1);
        }

        if (sequence < _cacheFloor || (!versioned && !_interest.TryAdmit(sequence, readAtMs)))
        {
            return false;
        }

        var value = CachedRows.Encode(columns, rows);
        if (value.Length > CacheOptions.MaxEntryBytes)
        {
            return false;
        }

        try
        {
            if (_cache.BeforePopulate is { } hook)
            {
                await hook(key);
            }

            var written = await _cache.Store.SetManyAsync([new CacheWrite(key, value, sequence, readAtMs, CacheOptions.EntryLifetime)]) == 1;
            _cache.Populated?.Invoke(key, written);
            return written;
        }
        catch (CacheUnavailableException)
        {
            _cache.Metrics.Error(_shard);
            return false;
        }
    }

    private void StartRefresh(IReadOnlyList<RowLookup> lookups)
    {
        var fresh = new List<RowLookup>(lookups.Count);
        foreach (var lookup in lookups)
        {
            if (LookupKey(lookup.Column, lookup.Value) is { } key && _refreshing.TryAdd(key, 0))
            {
                fresh.Add(lookup);
            }
        }

        if (fresh.Count == 0)
        {
            return;
        }

        var self = _grains.GetGrain<ITableShard>(_shard);
        using (ExecutionContext.SuppressFlow())
        {
            _ = Task.Run(async () =>
            {
                try
                {
                    var request = new WarmRequest(
                        PrimaryKeys: fresh.Where(l => l.Column is null).Select(l => l.Value).ToList(),
                        Lookups: fresh.Where(l => l.Column is not null).Select(l => new ColumnLookup(l.Column!, l.Value)).ToList());
                    var result = await self.WarmAsync(request);
                    for (var i = 0; i < result.Warmed; i++)
                    {
                        _cache.Metrics.Refresh(_shard);
                    }
                }
                catch (Exception ex)
                {
                    LogWarmFailed(ex, _shard);
                }
                finally
                {
                    foreach (var lookup in fresh)
                    {
                        if (LookupKey(lookup.Column, lookup.Value) is { } key)
                        {
                            _refreshing.TryRemove(key, out _);
                        }
                    }
                }
            });
        }
    }

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
                lookups.AddRange(_hot.Top().Select(h => h.Lookup));
            }

            var info = await GetTableInfoAsync(cancellationToken);
            int warmed = 0, skipped = 0;
            foreach (var lookup in lookups)
            {
                var (sql, key) = PlanLookup(info, lookup.Column, lookup.Value);
                if (key is null)
                {
                    skipped++;
                    continue;
                }

                var sequence = _writer.Sequence;
                var readAt = TimeProvider.GetUtcNow().ToUnixTimeMilliseconds();
                var result = await ReadAsync(sql, [lookup.Value], cancellationToken);
                if (await PopulateAsync(key, result.Columns, result.Rows, sequence, readAt, versioned: false))
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
        if (_tableInfo is { } info)
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

        return _tableInfo = info;
    }

    /// <summary>The SQL of a row lookup and its cache key (null when not cacheable).</summary>
    private (string Sql, string? Key) PlanLookup(TableInfo info, string? column, SqlValue value)
    {
        if (column is null)
        {
            var keyColumn = info.KeyColumn ?? throw new ShardException(ShardErrorCode.InvalidArgument, $"Table {_table} has a composite primary key; use query.");
            var text = info.LookupKeyText(keyColumn, value);
            return ($"SELECT * FROM {Quote(_table)} WHERE {Quote(keyColumn)} = ?", text is null ? null : CacheKeys.Row(_tenant, _table, text));
        }

        if (!info.Columns.Contains(column, StringComparer.Ordinal))
        {
            throw new ShardException(ShardErrorCode.InvalidArgument, $"Look rows up by primary key or by a column of {_table} and a value.");
        }

        if (!info.Indexed.Contains(column))
        {
            throw new ShardException(ShardErrorCode.InvalidArgument, $"Column {column} is not indexed; row lookups use indexed columns (create an index, or use query).");
        }

        var valueText = info.LookupKeyText(column, value);
        return ($"SELECT * FROM {Quote(_table)} WHERE {Quote(column)} = ?", valueText is null ? null : CacheKeys.Index(_tenant, _table, column, valueText));
    }

    /// <summary>The cache key of a lookup with the known schema, or null.</summary>
    private string? LookupKey(string? column, SqlValue value)
    {
        if (_tableInfo is not { } info)
        {
            return null;
        }

        try
        {
            return PlanLookup(info, column, value).Key;
        }
        catch (ShardException)
        {
            return null;
        }
    }

    private static string Quote(string name) => "\"" + name.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";

    [LoggerMessage(Level = LogLevel.Debug, Message = "Cache warm/refresh of shard {Shard} failed")]
    private partial void LogWarmFailed(Exception exception, string shard);
}
