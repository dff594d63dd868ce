using OrleansShards.Grains.Diagnostics;
using OrleansShards.Grains.Storage;

namespace OrleansShards.Grains.TableShards;

internal sealed partial class TableShardGrain
{
    private const string ServedByShard = "shard";

    [ReadOnly]
    public async Task<QueryResult> QueryAsync(QueryRequest request, CancellationToken cancellationToken = default)
    {
        try
        {
            ArgumentNullException.ThrowIfNull(request);
            RequireSql(request.Query);
            if (_layout is { } layout)
            {
                return await RouteQueryAsync(layout, request, cancellationToken).ConfigureAwait(false);
            }

            return await ReadAsync(request.Query, request.Params, cancellationToken).ConfigureAwait(false);
        }
        catch (ShardException ex) when (CountError(ex))
        {
            throw;
        }
    }

    [ReadOnly]
    public async Task<QueryResult> LookupRowsAsync(RowLookupRequest request, CancellationToken cancellationToken = default)
    {
        try
        {
            ArgumentNullException.ThrowIfNull(request);
            var reader = await _readers.RentAsync(cancellationToken).ConfigureAwait(false);
            string sql;
            SqlValue value;
            try
            {
                var columns = reader.Query("SELECT name, pk FROM pragma_table_info(?)", _table);
                if (columns.Count == 0)
                {
                    throw new ShardException(ShardErrorCode.NotFound, $"Table {_table} does not exist; create it with ddl.");
                }

                if (request.PrimaryKey is { } pk)
                {
                    var keyColumns = columns.Where(c => c[1].AsInteger > 0).ToList();
                    if (keyColumns.Count > 1)
                    {
                        throw new ShardException(ShardErrorCode.InvalidArgument, $"Table {_table} has a composite primary key; use query.");
                    }

                    var keyColumn = keyColumns.Count == 1 ? keyColumns[0][0].AsText : "rowid";
                    sql = $"SELECT * FROM \"{_table}\" WHERE \"{keyColumn}\" = ?";
                    value = pk;
                }
                else
                {
                    var column = request.Column;
                    var match = columns.FirstOrDefault(c => string.Equals(c[0].AsText, column, StringComparison.Ordinal));
                    if (column is null || match is null || request.Value is not { } v)
                    {
                        throw new ShardException(ShardErrorCode.InvalidArgument, $"Look rows up by primary key or by a column of {_table} and a value.");
                    }

                    var indexed = reader.ExecuteScalar(
                        "SELECT count(*) FROM pragma_index_list(?) AS l, pragma_index_info(l.name) AS i WHERE i.name = ? AND i.seqno = 0",
                        _table, column);
                    if (indexed == 0 && match[1].AsInteger != 1)
                    {
                        throw new ShardException(ShardErrorCode.InvalidArgument, $"Column {column} is not indexed; row lookups use indexed columns (create an index, or use query).");
                    }

                    sql = $"SELECT * FROM \"{_table}\" WHERE \"{column.Replace("\"", "\"\"", StringComparison.Ordinal)}\" = ?";
                    value = v;
                }
            }
            finally
            {
                _readers.Return(reader);
            }

            var result = _layout is { } layout
                ? await FanOutQueryAsync(layout, new QueryRequest(sql, [value]), cancellationToken).ConfigureAwait(false)
                : await ReadAsync(sql, [value], cancellationToken).ConfigureAwait(false);
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

    [ReadOnly]
    public Task<ShardStats> GetStatsAsync(CancellationToken cancellationToken = default) => Task.FromResult(Stats());

    private async Task<QueryResult> ReadAsync(string sql, IReadOnlyList<SqlValue>? parameters, CancellationToken cancellationToken)
    {
        // The writer's sequence before the read is a lower bound of the state the read sees.
        var sequence = _writer.Sequence;
        var reader = await _readers.RentAsync(cancellationToken).ConfigureAwait(false);
        StatementOutcome outcome;
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

                outcome = reader.Run(statement, parameters);
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
        BookmarkOf(_writer.Sequence));

    private static void RequireSql(string? sql)
    {
        if (string.IsNullOrWhiteSpace(sql))
        {
            throw new ShardException(ShardErrorCode.InvalidArgument, "query must hold a SQL statement.");
        }
    }
}
