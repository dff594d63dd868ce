using System.Diagnostics;
using OrleansShards.Grains.Storage;

namespace OrleansShards.Grains.Sharding;

/// <summary>
/// Runs one read on every shard in parallel and combines the answers. How each aggregation is expressed:
/// <list type="bullet">
/// <item><c>concat</c>/<c>merge</c>/<c>sum</c>: the query runs as sent; concat keeps every row in shard order, merge drops
/// duplicate rows, sum adds each column over every returned row as SQLite's <c>sum()</c> does (so <c>SELECT sum(x), count(*) …</c>
/// sums exactly, and a 64-bit overflow fails as it does on one table).</item>
/// <item><c>count</c>: each shard runs <c>SELECT count(*) FROM (query)</c>; the counts are added.</item>
/// <item><c>avg</c>: the query selects one column, the value to average; each shard runs
/// <c>WITH q_avg(v) AS (query) SELECT total(v), count(v) FROM q_avg</c> and the answer is Σsum / Σcount — the exact mean
/// of all values, never an average of the shards' averages.</item>
/// </list>
/// </summary>
internal static class ShardQueryExecutor
{
    private const int DefaultTimeoutMs = 30_000;

    /// <summary>
    /// Runs <paramref name="request"/> on every shard. Rows that are passed on (<c>concat</c>, <c>merge</c>) are held to the
    /// result cap (<paramref name="maxRows"/>, <paramref name="maxBytes"/>) as the shards answer: past it the query is
    /// <c>RESULT_TOO_LARGE</c> at once (whatever <c>continueOnError</c> says) and the other shards' reads are canceled.
    /// </summary>
    public static async Task<ShardQueryResult> RunAsync(
        IGrainFactory grains, IReadOnlyList<string> shardKeys, ShardQueryRequest request, int maxRows, long maxBytes, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(request.Query))
        {
            throw new ShardException(ShardErrorCode.InvalidArgument, "query must hold a SQL statement.");
        }

        var aggregation = request.Aggregation ?? ShardAggregations.Concat;
        if (!ShardAggregations.All.Contains(aggregation, StringComparer.Ordinal))
        {
            throw new ShardException(ShardErrorCode.InvalidArgument, $"Unknown aggregation '{aggregation}'; use one of {string.Join(", ", ShardAggregations.All)}.");
        }

        var timeout = TimeSpan.FromMilliseconds(request.TimeoutMs is > 0 and var ms ? ms : DefaultTimeoutMs);
        var inner = request.Query.Trim().TrimEnd(';').Trim();
        var sql = aggregation switch
        {
            ShardAggregations.Count => $"SELECT count(*) FROM ({inner})",
            ShardAggregations.Avg => $"WITH q_avg(v) AS ({inner}) SELECT total(v), count(v) FROM q_avg",
            _ => inner,
        };
        var watch = Stopwatch.StartNew();
        var cap = aggregation is ShardAggregations.Concat or ShardAggregations.Merge ? new ResultCap(maxRows, maxBytes) : null;
        using var tooLarge = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var parts = await Task.WhenAll(shardKeys.Select((key, index) => RunOneAsync(grains.GetGrain<ITableShard>(key), key, index, sql, request, timeout, cap, tooLarge, cancellationToken))).ConfigureAwait(false);
        if (cap is not null && tooLarge.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw ResultCap.TooLarge(maxRows, maxBytes);
        }

        if (aggregation == ShardAggregations.Avg
            && parts.Any(p => p.Error is { Code: ShardErrorCode.SqlError } e && e.Message.Contains("q_avg has", StringComparison.Ordinal)))
        {
            // SQLite's "table q_avg has 2 values for 1 columns": the query selects more than the one value to average. A
            // bad request on every partition alike (whatever continueOnError says), named as the user wrote it.
            throw new ShardException(
                ShardErrorCode.InvalidArgument, "The avg aggregation averages the one column its query selects; send a query that selects exactly one column.");
        }

        if (!request.ContinueOnError && parts.FirstOrDefault(p => p.Error is not null) is { } failed)
        {
            throw failed.Error!;
        }

        var ok = parts.Where(p => p.Error is null).ToList();
        if (aggregation is ShardAggregations.Count or ShardAggregations.Avg && ok.FirstOrDefault(p => !HasAggregateShape(p.Result!, aggregation)) is { } odd)
        {
            // The wrapper was escaped (a ')' and a comment in the query): its answer is not the aggregate's one row.
            throw new ShardException(
                ShardErrorCode.InvalidArgument,
                $"The {aggregation} aggregation wraps the query as a subquery, and partition {odd.Name} did not answer one row of the aggregate: send one SELECT statement.");
        }

        try
        {
            return Combine(aggregation, parts, ok, watch);
        }
        catch (OverflowException ex)
        {
            // The partitions' counts add up past a 64-bit integer (only a query that escaped the wrapper answers such counts): a
            // bad request, not a failure of the silo. (Sums are SQLite's own sum(): its overflow is SQLite's error.)
            throw new ShardException(ShardErrorCode.InvalidArgument, $"The {aggregation} aggregation of the partitions' answers overflows a 64-bit integer.", ex);
        }
    }

    private static ShardQueryResult Combine(string aggregation, Part[] parts, List<Part> ok, Stopwatch watch)
    {
        IReadOnlyList<string> columns = ok.FirstOrDefault(p => p.Result!.Columns.Count > 0)?.Result!.Columns ?? [];
        List<SqlValue[]> rows;
        SqlValue? value = null;
        switch (aggregation)
        {
            case ShardAggregations.Count:
                var total = ok.Sum(p => p.Result!.Rows[0][0].AsInteger);
                value = total;
                columns = ["count"];
                rows = [[total]];
                break;
            case ShardAggregations.Avg:
                var sum = ok.Sum(p => p.Result!.Rows[0][0].AsReal);
                var n = ok.Sum(p => p.Result!.Rows[0][1].AsInteger);
                value = n == 0 ? SqlValue.Null : SqlValue.FromReal(sum / n);
                columns = ["avg"];
                rows = [[value.Value]];
                break;
            case ShardAggregations.Sum:
                rows = [SumColumns(columns.Count, ok.SelectMany(p => p.Result!.Rows))];
                break;
            case ShardAggregations.Merge:
                var seen = new HashSet<string>(StringComparer.Ordinal);
                rows = [.. ok.SelectMany(p => p.Result!.Rows).Where(r => seen.Add(KeyCodec.Encode(r)))];
                break;
            default:
                rows = [.. ok.SelectMany(p => p.Result!.Rows)];
                break;
        }

        var shardResults = parts.Select(p => new ShardQueryShardResult(
            p.Name,
            p.Index,
            p.Error is not null ? 0 : aggregation switch
            {
                ShardAggregations.Count => p.Result!.Rows[0][0].AsInteger,
                ShardAggregations.Avg => p.Result!.Rows[0][1].AsInteger,
                _ => p.Result!.Rows.Count,
            },
            p.DurationMs,
            p.Error?.Message,
            p.Error?.Code.ToWire(),
            aggregation == ShardAggregations.Avg && p.Error is null ? p.Result!.Rows[0][0].AsReal : null)).ToList();
        return new ShardQueryResult(aggregation, columns, rows, value, shardResults.Sum(s => s.ItemCount), shardResults, watch.Elapsed.TotalMilliseconds);
    }

    /// <summary>True when <paramref name="result"/> is the one row the count or avg wrapper returns.</summary>
    private static bool HasAggregateShape(QueryResult result, string aggregation) =>
        result.Rows is [var row] && aggregation switch
        {
            ShardAggregations.Count => row.Length == 1 && row[0].Kind == SqlValueKind.Integer,
            _ => row.Length == 2 && row[0].Kind is SqlValueKind.Real or SqlValueKind.Integer && row[1].Kind == SqlValueKind.Integer,
        };

    private static async Task<Part> RunOneAsync(
        ITableShard shard, string key, int index, string sql, ShardQueryRequest request, TimeSpan timeout, ResultCap? cap, CancellationTokenSource tooLarge, CancellationToken cancellationToken)
    {
        var name = ShardName.Parse(key).Table;
        var watch = Stopwatch.StartNew();
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(tooLarge.Token);
        limit.CancelAfter(timeout);
        try
        {
            var result = await shard.QueryAsync(new QueryRequest(sql, request.Params), limit.Token).WaitAsync(timeout, tooLarge.Token).ConfigureAwait(false);
            if (cap is not null && !cap.TryAdd(result.Rows))
            {
                // The combined answer passed the cap: the other shards stop, the query answers RESULT_TOO_LARGE.
                await tooLarge.CancelAsync().ConfigureAwait(false);
                return new Part(name, index, null, new ShardException(ShardErrorCode.ResultTooLarge, "The combined result passed the cap."), watch.Elapsed.TotalMilliseconds);
            }

            return new Part(name, index, result, null, watch.Elapsed.TotalMilliseconds);
        }
        catch (Exception ex) when (tooLarge.IsCancellationRequested && !cancellationToken.IsCancellationRequested && ex is TimeoutException or OperationCanceledException or ShardException)
        {
            return new Part(name, index, null, new ShardException(ShardErrorCode.ResultTooLarge, "canceled: the combined result passed the cap"), watch.Elapsed.TotalMilliseconds);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested && ex is TimeoutException or OperationCanceledException)
        {
            return new Part(name, index, null, new ShardException(ShardErrorCode.Timeout, $"Shard {name} did not answer within {timeout.TotalMilliseconds:0} ms."), watch.Elapsed.TotalMilliseconds);
        }
        catch (ShardException ex)
        {
            return new Part(name, index, null, ex, watch.Elapsed.TotalMilliseconds);
        }
    }

    /// <summary>
    /// Each column's <c>sum()</c> over every returned row, computed by SQLite's own <c>sum()</c> in an in-memory database:
    /// the answer one table holding all the rows would give. Integers add exactly, and past 64 bits the query fails with
    /// SQLite's "integer overflow" (<c>SQL_ERROR</c>); a REAL, or TEXT or a BLOB that is not an integer, makes the sum REAL
    /// (TEXT reading as a number counts as that number, other TEXT as 0.0); a column of NULLs only sums to NULL.
    /// </summary>
    private static SqlValue[] SumColumns(int width, IEnumerable<SqlValue[]> rows)
    {
        if (width == 0)
        {
            return [];
        }

        var columns = Enumerable.Range(0, width).Select(i => "c" + i.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToList();
        var insert = $"INSERT INTO v VALUES ({string.Join(", ", columns.Select(_ => "?"))})";
        using var memory = new ShardConnection(":memory:", readOnly: false, planCacheSize: 1);
        memory.Execute($"CREATE TABLE v({string.Join(", ", columns)})");
        memory.Execute("BEGIN");
        var values = new SqlValue[width];
        foreach (var row in rows)
        {
            for (var i = 0; i < width; i++)
            {
                values[i] = i < row.Length ? row[i] : SqlValue.Null;
            }

            memory.ExecuteInternal(insert, values);
        }

        return memory.Query($"SELECT {string.Join(", ", columns.Select(c => $"sum({c})"))} FROM v")[0];
    }

    private sealed record Part(string Name, int Index, QueryResult? Result, ShardException? Error, double DurationMs);
}
