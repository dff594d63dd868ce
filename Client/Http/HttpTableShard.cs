using System.Globalization;
using System.Text;
using OrleansShards.Client.Http.Wire;

namespace OrleansShards.Client.Http;

/// <summary>
/// <see cref="ITableShard"/> over the silo's HTTP API v1: each method is one route of
/// <c>/v1/tables/{table}</c>; the tenant, taken from the grain key, is sent as <c>tenantId</c> in POST
/// bodies and as the <c>X-Tenant-Id</c> header on every request.
/// </summary>
internal sealed class HttpTableShard : ITableShard
{
    private static readonly HashSet<string> ReservedLookupParameters = new(StringComparer.Ordinal)
    {
        "tenantId", "consistency", "maxStalenessMs", "minBookmark",
    };

    private readonly ShardsHttpTransport _transport;
    private readonly bool _addIdempotencyKeys;
    private readonly string _tenant;
    private readonly string _routeBase;

    public HttpTableShard(ShardsHttpTransport transport, bool addIdempotencyKeys, string tenant, string table)
    {
        _transport = transport;
        _addIdempotencyKeys = addIdempotencyKeys;
        _tenant = tenant;
        Table = table;
        _routeBase = "v1/tables/" + table + "/";
    }

    public string Table { get; }

    public Task<QueryResult> QueryAsync(QueryRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var body = new QueryBody(_tenant, request.Query, request.Params, ToWire(request.Consistency), request.MaxStalenessMs, request.MinBookmark, request.ShardKey);
        return _transport.PostAsync(_tenant, _routeBase + "query", body, ClientJsonContext.Default.QueryBody, ClientJsonContext.Default.QueryResult, safeToRetry: true, cancellationToken);
    }

    public async Task<MutationResult> MutateAsync(MutationRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);

        // A statement queued in a transaction is not deduplicated by its key: never retried, no key added.
        var queued = request.TransactionId is not null;
        var key = queued ? request.IdempotencyKey : KeyFor(request.IdempotencyKey);
        var body = new MutationBody(_tenant, request.Query, request.Params, request.TransactionId, key, request.ShardKey);
        var response = await _transport.PostAsync(
            _tenant, _routeBase + "mutation", body, ClientJsonContext.Default.MutationBody, ClientJsonContext.Default.MutationResponse,
            safeToRetry: !queued && key is not null, cancellationToken).ConfigureAwait(false);
        return new MutationResult(response.Changes, response.LastInsertRowId, response.Bookmark, response.Queued);
    }

    public Task<BatchResult> BatchAsync(BatchRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(request.Statements);
        var statements = new StatementBody[request.Statements.Count];
        for (var i = 0; i < statements.Length; i++)
        {
            var statement = request.Statements[i] ?? throw new ArgumentException($"Statements[{i}] is null.", nameof(request));
            statements[i] = new StatementBody(statement.Query, statement.Params);
        }

        var key = KeyFor(request.IdempotencyKey);
        var body = new BatchBody(_tenant, statements, key, request.ShardKey);
        return _transport.PostAsync(
            _tenant, _routeBase + "batch", body, ClientJsonContext.Default.BatchBody, ClientJsonContext.Default.BatchResult,
            safeToRetry: key is not null, cancellationToken);
    }

    public async Task<DdlResult> DdlAsync(DdlRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);

        // DDL carries no idempotency key on the wire: sent once.
        var response = await _transport.PostAsync(
            _tenant, _routeBase + "ddl", new DdlBody(_tenant, request.Query), ClientJsonContext.Default.DdlBody, ClientJsonContext.Default.DdlResponse,
            safeToRetry: false, cancellationToken).ConfigureAwait(false);
        return new DdlResult(response.Ok, response.Bookmark);
    }

    public async Task<TransactionResult> TransactionAsync(TransactionRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var (operation, key, safe) = request.Operation switch
        {
            // A repeated BEGIN at worst leaves an empty transaction that expires.
            TransactionOperation.Begin => ("BEGIN", request.IdempotencyKey, true),
            TransactionOperation.Commit => ("COMMIT", KeyFor(request.IdempotencyKey), false),
            TransactionOperation.Rollback => ("ROLLBACK", request.IdempotencyKey, false),
            _ => throw new ArgumentOutOfRangeException(nameof(request), request.Operation, "Unknown transaction operation."),
        };
        if (request.Operation == TransactionOperation.Commit)
        {
            safe = key is not null;
        }

        var body = new TransactionBody(_tenant, operation, request.TransactionId, key);
        var response = await _transport.PostAsync(
            _tenant, _routeBase + "transaction", body, ClientJsonContext.Default.TransactionBody, ClientJsonContext.Default.TransactionResponse,
            safe, cancellationToken).ConfigureAwait(false);
        return new TransactionResult(
            response.TransactionId ?? request.TransactionId ?? string.Empty,
            response.ExpiresAtUnixMs,
            response.Results,
            response.Bookmark,
            response.RolledBack);
    }

    public Task<QueryResult> LookupRowsAsync(RowLookupRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var path = new StringBuilder(_routeBase).Append("rows");
        var query = new List<string>();
        if (request.PrimaryKey is { } pk)
        {
            path.Append('/').Append(Uri.EscapeDataString(ToKeyText(pk, "PrimaryKey")));
        }
        else if (request.Column is { } column)
        {
            if (!ShardName.IsValid(column) || ReservedLookupParameters.Contains(column))
            {
                throw new ShardException(ShardErrorCode.InvalidArgument, $"The column name must be 1-{ShardName.MaxLength} characters of [A-Za-z0-9_] and not one of {string.Join(", ", ReservedLookupParameters)}.");
            }

            query.Add(column + "=" + Uri.EscapeDataString(ToKeyText(request.Value ?? SqlValue.Null, "Value")));
        }
        else
        {
            throw new ShardException(ShardErrorCode.InvalidArgument, "Look rows up by PrimaryKey, or by Column and Value.");
        }

        if (ToWire(request.Consistency) is { } consistency)
        {
            query.Add("consistency=" + consistency);
        }

        if (request.MaxStalenessMs is { } staleness)
        {
            query.Add("maxStalenessMs=" + staleness.ToString(CultureInfo.InvariantCulture));
        }

        if (request.MinBookmark is { } minBookmark)
        {
            query.Add("minBookmark=" + Uri.EscapeDataString(minBookmark));
        }

        if (query.Count > 0)
        {
            path.Append('?').AppendJoin('&', query);
        }

        return _transport.GetAsync(_tenant, path.ToString(), ClientJsonContext.Default.QueryResult, cancellationToken);
    }

    public Task<ShardStats> GetStatsAsync(CancellationToken cancellationToken = default) =>
        _transport.GetAsync(_tenant, _routeBase + "stats", ClientJsonContext.Default.ShardStats, cancellationToken);

    public Task<ShardPlacementInfo> GetPlacementAsync(CancellationToken cancellationToken = default) =>
        _transport.GetAsync(_tenant, _routeBase + "placement", ClientJsonContext.Default.ShardPlacementInfo, cancellationToken);

    public Task<ShardStats> RefreshCapacityAsync(CancellationToken cancellationToken = default) =>
        _transport.PostAsync(
            _tenant, _routeBase + "stats/refresh", new TenantBody(_tenant), ClientJsonContext.Default.TenantBody, ClientJsonContext.Default.ShardStats,
            safeToRetry: true, cancellationToken);

    public Task<BookmarkResult> GetBookmarkAsync(BookmarkRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        return _transport.PostAsync(
            _tenant, _routeBase + "pitr/bookmark", new BookmarkBody(_tenant, request.At), ClientJsonContext.Default.BookmarkBody, ClientJsonContext.Default.BookmarkResult,
            safeToRetry: true, cancellationToken);
    }

    public Task<RestoreResult> RestoreAsync(RestoreRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);

        // Each restore makes a new undo bookmark: sent once.
        return _transport.PostAsync(
            _tenant, _routeBase + "pitr/restore", new RestoreBody(_tenant, request.Bookmark, request.OperationId), ClientJsonContext.Default.RestoreBody, ClientJsonContext.Default.RestoreResult,
            safeToRetry: false, cancellationToken);
    }

    public Task<WarmResult> WarmAsync(WarmRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var body = new WarmBody(_tenant, request.PrimaryKeys, request.Lookups, request.HotKeys);
        return _transport.PostAsync(
            _tenant, _routeBase + "cache/warm", body, ClientJsonContext.Default.WarmBody, ClientJsonContext.Default.WarmResult,
            safeToRetry: true, cancellationToken);
    }

    private string? KeyFor(string? given) => given ?? (_addIdempotencyKeys ? Guid.NewGuid().ToString("N") : null);

    private static string? ToWire(Consistency? consistency) => consistency switch
    {
        null => null,
        Consistency.Strong => "strong",
        Consistency.Bounded => "bounded",
        Consistency.Cached => "cached",
        _ => throw new ArgumentOutOfRangeException(nameof(consistency), consistency, "Unknown consistency."),
    };

    /// <summary>The silo reads a canonical integer as INTEGER and anything else as TEXT; other kinds cannot be sent.</summary>
    private static string ToKeyText(SqlValue value, string member) => value.Kind switch
    {
        SqlValueKind.Integer => value.AsInteger.ToString(CultureInfo.InvariantCulture),
        SqlValueKind.Text when value.AsText.Length > 0 => value.AsText,
        _ => throw new ShardException(
            ShardErrorCode.InvalidArgument,
            $"{member}: the row endpoints take an INTEGER or non-empty TEXT value (got {value.Kind}); use QueryAsync for other lookups."),
    };
}
