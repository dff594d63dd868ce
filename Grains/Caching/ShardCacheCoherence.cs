using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using OrleansShards.Grains.Sharding;
using OrleansShards.Grains.Storage;
using OrleansShards.Grains.Writes;

namespace OrleansShards.Grains.Caching;

/// <summary>
/// The cache side of one shard, a plain class the TableShard grain holds (one per activation): the outbox
/// (<see cref="InvalidationOutbox"/>: events written in the commit's transaction, published after COMMIT, replayed on
/// open), the consistency decision of reads, populates stamped with the commit sequence, stale-while-revalidate
/// refreshes, hot keys and their warming. As an <see cref="ICommitObserver"/> it sees every commit of the shard's
/// writer, in commit order. What needs the grain (reading rows, calling itself to warm) comes in as the
/// <c>warm</c> function and as arguments.
/// </summary>
internal sealed partial class ShardCacheCoherence : ICommitObserver
{
    private readonly ConcurrentDictionary<string, byte> _refreshing = new(StringComparer.Ordinal);
    private readonly string _shard;
    private readonly string _tenant;
    private readonly string _table;
    private readonly ShardCacheServices _cache;
    private readonly CacheInterest _interest;
    private readonly TimeProvider _time;
    private readonly IGrainFactory _grains;
    private readonly Func<WarmRequest, Task<WarmResult>> _warm;
    private readonly ILogger _logger;
    private InvalidationOutbox? _outbox;
    private HotKeys _hot;
    private long _floor;

    /// <param name="warm">Warms rows through the shard's grain (hot keys after an open, refreshes ahead of expiry).</param>
    public ShardCacheCoherence(
        string shard,
        string tenant,
        string table,
        ShardCacheServices cache,
        TimeProvider time,
        IGrainFactory grains,
        Func<WarmRequest, Task<WarmResult>> warm,
        ILogger logger)
    {
        _shard = shard;
        _tenant = tenant;
        _table = table;
        _cache = cache;
        _time = time;
        _grains = grains;
        _warm = warm;
        _logger = logger;
        _interest = new CacheInterest(cache.Options.EntryLifetime);
        _hot = new HotKeys(cache.Options.HotKeys);
    }

    public ShardCacheOptions Options => _cache.Options;

    public CacheMetrics Metrics => _cache.Metrics;

    /// <summary>Which rows and index entries may be cached now (an entry is served only while its events are on).</summary>
    public CacheInterest Interest => _interest;

    /// <summary>
    /// When this activation started: row and index entries stored at or before it were admitted by an earlier
    /// activation, whose <see cref="CacheInterest"/> window this one does not know, so they are never served.
    /// </summary>
    public long ActivatedAtMs { get; private set; }

    /// <summary>The shard starts opening its files: entries stored before now are an earlier activation's.</summary>
    public void Opening() => ActivatedAtMs = _time.GetUtcNow().ToUnixTimeMilliseconds();

    /// <summary>The table's schema as lookups need it; null until read, and again after anything that changes it.</summary>
    public TableInfo? TableInfo { get; set; }

    /// <summary>The outbox and publishing of this shard's invalidation events (created on first use).</summary>
    private InvalidationOutbox Outbox => _outbox ??= new InvalidationOutbox(_shard, _cache, _interest, _time, PublishOnceAsync, _logger);

    byte[]? ICommitObserver.BeforeCommit(CommitContext commit) => Outbox.BuildPayload(commit);

    /// <summary>
    /// On the writer loop, after COMMIT and before the writes are acknowledged: everything a read right after the
    /// acknowledgement consults is updated here (the floor, the table info, the outbox rows, and the pending set, which
    /// keeps a cached read of a changed key from using an entry older than the commit until the invalidator applied it).
    /// The event is published by <see cref="ICommitObserver.Acknowledged"/>.
    /// </summary>
    void ICommitObserver.Committed(CommittedGroup group)
    {
        if (group.Ddl is not null || group.IsRestore)
        {
            // A schema change, or a restore (the whole content changed): no entry older than it is used again; after a
            // restore the invalidator flushes the table's keys.
            _floor = group.Sequence;
            TableInfo = null;
        }

        Outbox.Committed(group);
    }

    /// <summary>
    /// On the writer loop, once the commit's writes are acknowledged, still in commit order: the event is published and
    /// the hot keys it touched are refreshed ahead. Neither is needed for a read right after the acknowledgement (the
    /// pending set already covers the commit), so neither delays it.
    /// </summary>
    void ICommitObserver.Acknowledged(CommittedGroup group)
    {
        if (Outbox.Acknowledged(group) is not { } invalidation || Options.HotKeys <= 0 || invalidation.Keys.Count == 0)
        {
            return;
        }

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

    /// <summary>Prepares the cache for a (re)opened writer: activation, and after a restore or reshard swapped the file.</summary>
    public void Attach(ShardConnection writer)
    {
        Outbox.Keys.Reset();

        // Entries older than the newest schema change or restore are never used.
        _floor = Math.Max(_floor, writer.ExecuteScalar("SELECT coalesce(max(seq), 0) FROM _changes WHERE kind IN (1, 2)"));
        var info = TableInfo.Load(writer, _table);
        TableInfo = info.Exists ? info : null;
    }

    /// <summary>
    /// Once the shard is open: replays the outbox, starts publishing, and loads the saved hot keys (warmed through the
    /// grain once its activation completed).
    /// </summary>
    public void Open(ShardConnection writer)
    {
        _hot = new HotKeys(Options.HotKeys);

        // Replay: every event still in the outbox is published again (the silo may have died between COMMIT and
        // publish); the invalidator skips the ones it already applied.
        Outbox.Replay(writer);

        foreach (var row in writer.Query("SELECT value FROM _meta WHERE key = 'cache:hot'"))
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
                        await _warm(new WarmRequest(HotKeys: true));
                    }
                    catch (Exception ex)
                    {
                        LogWarmFailed(ex, _shard);
                    }
                });
            }
        }
    }

    /// <summary>Stops publishing (on close).</summary>
    public Task StopAsync() => _outbox?.StopAsync() ?? Task.CompletedTask;

    /// <summary>
    /// After <see cref="StopAsync"/>, while the file is still this shard's: one last transaction drops the outbox rows
    /// whose events are applied and saves the hot keys (warmed again on the next open).
    /// </summary>
    public async Task PersistAsync(ShardWriter writer)
    {
        var hot = _hot.Top().Select(h => new HotKeyRecord(h.Lookup.Column, h.Lookup.Value)).ToList();
        var applied = _cache.Watermarks.Get(_shard);
        if (hot.Count == 0 && applied <= (_outbox?.DeletedThrough ?? 0))
        {
            return;
        }

        try
        {
            await writer.RunMaintenanceAsync(w =>
            {
                w.Execute("BEGIN IMMEDIATE");
                try
                {
                    w.ExecuteInternal("DELETE FROM _outbox WHERE seq <= ?", applied);
                    if (hot.Count > 0)
                    {
                        w.ExecuteInternal("INSERT OR REPLACE INTO _meta(key, value) VALUES ('cache:hot', ?)",
                            JsonSerializer.Serialize(hot, CacheJsonContext.Default.ListHotKeyRecord));
                    }

                    w.Execute("COMMIT");
                }
                catch
                {
                    w.Execute("ROLLBACK");
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

    /// <summary>The consistency a read gets.</summary>
    public Consistency Resolve(Consistency? requested) => requested ?? Options.DefaultFor(_tenant, _table);

    /// <summary>Counts a read of <paramref name="key"/> toward the hot keys.</summary>
    public void Touch(string key, RowLookup lookup) => _hot.Touch(key, lookup);

    /// <summary>The hot keys now, most read first.</summary>
    public IEnumerable<RowLookup> HotLookups() => _hot.Top().Select(h => h.Lookup);

    /// <summary>
    /// A cache answer for <paramref name="key"/> allowed by the consistency, or null (go to the shard).
    /// Any store failure is a miss.
    /// </summary>
    public async Task<(CacheEntry Entry, bool Stale, long AgeMs)?> TryGetAsync(
        string key, Consistency consistency, long? maxStalenessMs, long minSequence, bool versioned, CancellationToken cancellationToken)
    {
        var nowMs = _time.GetUtcNow().ToUnixTimeMilliseconds();
        var ttlMs = (long)Options.Ttl.TotalMilliseconds;
        var lifetimeMs = (long)Options.EntryLifetime.TotalMilliseconds;
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

        if (entry is null || entry.IsTombstone || entry.Sequence < minSequence || entry.Sequence < _floor
            || (!versioned && entry.StoredAtUnixMs <= ActivatedAtMs))
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

        return (entry, age > ttlMs, age);
    }

    /// <summary>
    /// Populates without holding the read turn: the answer goes back at once and the write to the store completes on
    /// its own (a slow store must not hold up the shard). Failures are counted.
    /// </summary>
    public void StartPopulate(string key, QueryResult result, long sequence, long readAtMs, bool versioned)
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
    public async Task<bool> PopulateAsync(string key, IReadOnlyList<string> columns, IReadOnlyList<SqlValue[]> rows, long sequence, long readAtMs, bool versioned)
    {
        if (!versioned)
        {
            // Read in the activation's first millisecond: stored as 1 ms later, so it is not taken for an earlier activation's entry.
            readAtMs = Math.Max(readAtMs, ActivatedAtMs + 1);
        }

        if (sequence < _floor || (!versioned && !_interest.TryAdmit(sequence, readAtMs)))
        {
            return false;
        }

        var value = CachedRows.Encode(columns, rows);
        if (value.Length > Options.MaxEntryBytes)
        {
            return false;
        }

        try
        {
            if (_cache.BeforePopulate is { } hook)
            {
                await hook(key);
            }

            var written = await _cache.Store.SetManyAsync([new CacheWrite(key, value, sequence, readAtMs, Options.EntryLifetime)]) == 1;
            _cache.Populated?.Invoke(key, written);
            return written;
        }
        catch (CacheUnavailableException)
        {
            _cache.Metrics.Error(_shard);
            return false;
        }
    }

    /// <summary>Warms <paramref name="lookups"/> again in the background (one refresh per key at a time).</summary>
    public void StartRefresh(IReadOnlyList<RowLookup> lookups)
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

        using (ExecutionContext.SuppressFlow())
        {
            _ = Task.Run(async () =>
            {
                try
                {
                    var request = new WarmRequest(
                        PrimaryKeys: fresh.Where(l => l.Column is null).Select(l => l.Value).ToList(),
                        Lookups: fresh.Where(l => l.Column is not null).Select(l => new ColumnLookup(l.Column!, l.Value)).ToList());
                    var result = await _warm(request);
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

    /// <summary>The SQL of a row lookup and its cache key (null when not cacheable).</summary>
    public (string Sql, string? Key) PlanLookup(TableInfo info, string? column, SqlValue value)
    {
        if (column is null)
        {
            var keyColumn = info.KeyColumn ?? throw new ShardException(ShardErrorCode.InvalidArgument, $"Table {_table} has a composite primary key; use query.");
            var text = info.LookupKeyText(keyColumn, value);
            return ($"SELECT * FROM {ShardSql.Quote(_table)} WHERE {ShardSql.Quote(keyColumn)} = ?", text is null ? null : CacheKeys.Row(_tenant, _table, text));
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
        return ($"SELECT * FROM {ShardSql.Quote(_table)} WHERE {ShardSql.Quote(column)} = ?", valueText is null ? null : CacheKeys.Index(_tenant, _table, column, valueText));
    }

    /// <summary>Delivers one invalidation event: the invalidation stream, or the invalidator grain without streams.</summary>
    private Task PublishOnceAsync(InvalidationEvent invalidation) => _cache.Streams is { } streams
        ? streams.GetStream<InvalidationEvent>(StreamId.Create(InvalidationStream.Namespace, _shard)).OnNextAsync(invalidation)
        : _grains.GetGrain<ICacheInvalidator>(_shard).InvalidateAsync(invalidation);

    /// <summary>The cache key of a lookup with the known schema, or null.</summary>
    private string? LookupKey(string? column, SqlValue value)
    {
        if (TableInfo is not { } info)
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

    [LoggerMessage(Level = LogLevel.Debug, Message = "Cache warm/refresh of shard {Shard} failed")]
    private partial void LogWarmFailed(Exception exception, string shard);
}
