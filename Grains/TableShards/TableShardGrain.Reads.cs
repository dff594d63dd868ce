using OrleansShards.Grains.Caching;
using OrleansShards.Grains.Diagnostics;
using OrleansShards.Grains.Storage;

namespace OrleansShards.Grains.TableShards;

internal sealed partial class TableShardGrain
{
    private const string ServedByShard = "shard";
    private const string ServedByCache = "cache";
    private const string ServedByCacheStale = "cache-stale";

    public async Task<QueryResult> QueryAsync(QueryRequest request, CancellationToken cancellationToken = default)
    {
        try
        {
            ArgumentNullException.ThrowIfNull(request);
            RequireSql(request.Query);
            if (_router is { } router)
            {
                // A sharded table: the shards (their own grains) serve and cache the rows.
                return await router.QueryAsync(request, cancellationToken);
            }

            var minSequence = await AwaitMinBookmarkAsync(request.MinBookmark, cancellationToken);
            var consistency = ResolveConsistency(request.Consistency);
            if (consistency == Consistency.Strong || !CacheOptions.CacheQueries)
            {
                return await ReadAsync(request.Query, request.Params, cancellationToken);
            }

            // Query results are keyed by the shard's commit sequence (the table version): a commit
            // moves every later read to a new key, so a cached result is never older than the data.
            var sequence = _writer.Sequence;
            var key = CacheKeys.Query(_tenant, _table, sequence, CacheKeys.Hash(request.Query, request.Params));
            if (await TryCacheAsync(key, consistency, request.MaxStalenessMs, minSequence, versioned: true, cancellationToken) is { } hit
                && WithinResultCap(hit.Entry) is { } cached)
            {
                return FromCache(cached, hit.Entry, hit.ServedBy, hit.AgeMs);
            }

            _cache.Metrics.Miss(_shard);
            var readAt = TimeProvider.GetUtcNow().ToUnixTimeMilliseconds();
            var result = await ReadAsync(request.Query, request.Params, cancellationToken);
            _coherence.StartPopulate(key, result, sequence, readAt, versioned: true);
            return result;
        }
        catch (ShardException ex) when (CountError(ex))
        {
            throw;
        }
    }

    public async Task<QueryResult> LookupRowsAsync(RowLookupRequest request, CancellationToken cancellationToken = default)
    {
        try
        {
            ArgumentNullException.ThrowIfNull(request);
            var info = await GetTableInfoAsync(cancellationToken);
            string? column;
            SqlValue value;
            if (request.PrimaryKey is { } pk)
            {
                column = null;
                value = pk;
            }
            else if (request.Column is { } c && request.Value is { } v)
            {
                column = c;
                value = v;
            }
            else
            {
                throw new ShardException(ShardErrorCode.InvalidArgument, $"Look rows up by primary key or by a column of {_table} and a value.");
            }

            var (sql, key) = _coherence.PlanLookup(info, column, value);
            var consistency = ResolveConsistency(request.Consistency);
            var minSequence = _router is null ? await AwaitMinBookmarkAsync(request.MinBookmark, cancellationToken) : 0;

            QueryResult result;
            if (_router is { } router)
            {
                result = await router.FanOutAsync(new QueryRequest(sql, [value]), cancellationToken);
            }

            else if (consistency == Consistency.Strong || key is null)
            {
                result = await ReadAsync(sql, [value], cancellationToken);
            }
            else
            {
                _coherence.Touch(key, new RowLookup(column, value));
                if (await TryCacheAsync(key, consistency, request.MaxStalenessMs, minSequence, versioned: false, cancellationToken) is { } hit
                    && WithinResultCap(hit.Entry) is { } cached)
                {
                    if (hit.ServedBy == ServedByCacheStale && consistency == Consistency.Cached)
                    {
                        _coherence.StartRefresh([new RowLookup(column, value)]);
                    }

                    result = FromCache(cached, hit.Entry, hit.ServedBy, hit.AgeMs);
                }
                else
                {
                    _cache.Metrics.Miss(_shard);
                    var sequence = _writer.Sequence;
                    var readAt = TimeProvider.GetUtcNow().ToUnixTimeMilliseconds();
                    result = await ReadAsync(sql, [value], cancellationToken);
                    _coherence.StartPopulate(key, result, sequence, readAt, versioned: false);
                }
            }

            if (request.PrimaryKey is not null && result.Rows.Count == 0)
            {
                throw new ShardException(ShardErrorCode.NotFound, $"No row of {_table} has primary key {request.PrimaryKey}.");
            }

            return result;
        }
        catch (ShardException ex) when (CountError(ex))
        {
            throw;
        }
    }

    /// <summary>
    /// The rows of a cache entry when they are within the result cap; null when the entry holds more than a statement may
    /// return now (written by a silo with a larger cap, or before the cap was lowered): the read then goes to the shard,
    /// which answers as its own cap says.
    /// </summary>
    private (string[] Columns, List<SqlValue[]> Rows)? WithinResultCap(CacheEntry entry)
    {
        var decoded = CachedRows.Decode(entry.Value);
        return new ResultCap(_options.MaxResultRows, _options.MaxResultBytes).TryAdd(decoded.Rows) ? decoded : null;
    }

    /// <summary>An answer from a cache entry; counts the hit.</summary>
    private QueryResult FromCache((string[] Columns, List<SqlValue[]> Rows) cached, CacheEntry entry, string servedBy, long ageMs)
    {
        if (servedBy == ServedByCache)
        {
            _cache.Metrics.Hit(_shard);
        }
        else
        {
            _cache.Metrics.StaleHit(_shard);
        }

        var (columns, rows) = cached;
        return new QueryResult(columns, rows, 0, new QueryMeta(servedBy, ageMs, BookmarkOf(entry.Sequence)));
    }

    public Task<ShardStats> GetStatsAsync(CancellationToken cancellationToken = default) => Task.FromResult(Stats());

    /// <summary>
    /// Read-your-writes: checks <paramref name="minBookmark"/> belongs to this shard (<c>INVALID_ARGUMENT</c> when
    /// malformed or another shard's) and waits up to <see cref="TableShardOptions.MinBookmarkWait"/> for the shard to
    /// reach it; a bookmark still ahead then is <c>RETRYABLE</c>. Returns the bookmark's sequence (0 without one).
    /// </summary>
    private async Task<long> AwaitMinBookmarkAsync(string? minBookmark, CancellationToken cancellationToken)
    {
        if (minBookmark is null)
        {
            return 0;
        }

        var wanted = Bookmark.Parse(minBookmark, _tenant, _table).Sequence;
        if (wanted <= _writer.Sequence)
        {
            return wanted;
        }

        // Real time, not the shards' clock: this bounds how long a caller waits.
        var deadline = TimeProvider.System.GetTimestamp() + (long)(_options.MinBookmarkWait.TotalSeconds * TimeProvider.System.TimestampFrequency);
        while (wanted > _writer.Sequence)
        {
            if (TimeProvider.System.GetTimestamp() >= deadline)
            {
                throw new ShardException(
                    ShardErrorCode.Retryable,
                    $"minBookmark is at commit {wanted}, ahead of this shard ({_writer.Sequence}); retry later.");
            }

            await Task.Delay(TimeSpan.FromMilliseconds(5), TimeProvider.System, cancellationToken);
        }

        return wanted;
    }

    /// <param name="sql">The tenant's query.</param>
    /// <param name="parameters">Its parameters.</param>
    /// <param name="cancellationToken">Ends the read.</param>
    /// <param name="rented">A reader already rented off the grain's scheduler (the local read path): the read runs on the
    /// caller's thread and returns it. Null: the read rents one on the thread pool.</param>
    private async Task<QueryResult> ReadAsync(string sql, IReadOnlyList<SqlValue>? parameters, CancellationToken cancellationToken, ShardConnection? rented = null)
    {
        // The writer's sequence before the read is a lower bound of the state the read sees.
        var sequence = _writer.Sequence;

        // SQLite blocks: the read runs on the reader pool off the grain's scheduler, so reads of one shard run in parallel.
        var outcome = rented is null
            ? await Task.Run(() => RunReadAsync(sql, parameters, null, cancellationToken), CancellationToken.None)
            : await RunReadAsync(sql, parameters, rented, cancellationToken);
        var tags = ShardMetrics.ShardTag(_shard);
        _metrics.Statements.Add(1, tags);
        _metrics.RowsRead.Add(outcome.RowsRead, tags);
        Interlocked.Increment(ref _statements);
        Interlocked.Add(ref _rowsRead, outcome.RowsRead);
        return new QueryResult(
            outcome.Columns ?? [],
            (IReadOnlyList<SqlValue[]>?)outcome.Rows ?? [],
            outcome.RowsRead,
            new QueryMeta(ServedByShard, 0, BookmarkOf(sequence)));
    }

    /// <summary>
    /// Runs one tenant read on a pooled reader connection (<paramref name="rented"/>, else one rented now) and returns it to
    /// the pool. Called on the thread pool, never on the grain's scheduler.
    /// </summary>
    private async Task<StatementOutcome> RunReadAsync(string sql, IReadOnlyList<SqlValue>? parameters, ShardConnection? rented, CancellationToken cancellationToken)
    {
        var reader = rented ?? await _readers.RentAsync(cancellationToken);
        try
        {
            reader.SetDeadline(_options.StatementTimeout, cancellationToken);
            reader.Mode = SqlMode.TenantRead;
            try
            {
                var hits = reader.PlanCache.Hits;
                var statement = reader.Prepare(sql);
                CountPlanCache(reader.PlanCache.Hits > hits);
                if (!statement.IsReadOnly)
                {
                    throw new ShardException(ShardErrorCode.InvalidArgument, "query runs read-only statements; send writes to mutation.");
                }

                return reader.Run(statement, parameters);
            }
            finally
            {
                reader.Mode = SqlMode.Internal;
            }
        }
        finally
        {
            _readers.Return(reader);
        }
    }

    private ShardStats Stats() => new(
        _shard,
        Interlocked.Read(ref _sizeBytes),
        _options.MaxShardSizeBytes,
        Interlocked.Read(ref _statements),
        Interlocked.Read(ref _rowsRead),
        _writer.RowsWritten,
        _writer.Commits,
        _writerConnection.PlanCache.Hits + _readers.PlanCacheHits,
        _writerConnection.PlanCache.Misses + _readers.PlanCacheMisses,
        BookmarkOf(_writer.Sequence),
        _cache.Metrics.Snapshot(_shard, ResolveConsistency(null)));

    private static void RequireSql(string? sql)
    {
        if (string.IsNullOrWhiteSpace(sql))
        {
            throw new ShardException(ShardErrorCode.InvalidArgument, "query must hold a SQL statement.");
        }

        ShardConnection.RejectNul(sql);
    }
}
