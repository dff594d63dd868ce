using System.Net;
using OrleansShards.Client.Http;

namespace OrleansShards.Client;

/// <summary>
/// The HTTP client: <c>client.GetTable("tenant", "table")</c> (or <c>client.GetGrain&lt;ITableShard&gt;("tenant:table")</c>)
/// returns an <see cref="ITableShard"/> whose calls go over HTTP to a silo, so code written against the grain
/// interfaces runs the same co-hosted (Orleans' <c>IGrainFactory</c> in the silo), through an Orleans client, or
/// remote (this client).
/// </summary>
/// <remarks>
/// <para>Errors: every error answer becomes a <see cref="ShardException"/> with the same
/// <see cref="ShardErrorCode"/> and message the grain raised (no subclasses, so <c>catch (ShardException e)
/// when (e.Code == …)</c> behaves the same in-process and remote). A call that outlives
/// <see cref="ShardsClientOptions.Timeout"/> raises <c>TIMEOUT</c>; a silo that cannot be reached raises
/// <see cref="HttpRequestException"/> once the retries are spent. Cancelling the token raises
/// <see cref="OperationCanceledException"/>.</para>
/// <para>Retries (<see cref="ShardsClientOptions.MaxRetries"/>, jittered exponential backoff), run by a
/// Microsoft.Extensions.Http.Resilience pipeline in the client's handler chain: answers
/// <c>RETRYABLE</c> or <c>OVERLOADED</c> and broken connections are retried for reads, bookmarks, stats, BEGIN,
/// and for mutations, batches and COMMITs that carry an idempotency key — the client adds a GUID key per
/// logical call by default, reused by its retries, so a write is never applied twice. DDL, ROLLBACK, restore
/// and statements queued in a transaction are sent once. A failure to connect is retried for every call
/// (nothing reached a silo), moving to the next endpoint.</para>
/// <para><see cref="IShardRegistry"/>: <see cref="IShardRegistry.DiscoverAsync"/>, <see cref="IShardRegistry.IsShardedAsync"/>
/// (answered from the discover route) and <see cref="IShardRegistry.QueryShardsAsync"/> are reads and retried as such.
/// <see cref="IShardRegistry.ShardAsync"/>, <see cref="IShardRegistry.UnshardAsync(CancellationToken)"/> and <see cref="IShardRegistry.RebalanceAsync"/>
/// are sent once (a failure to connect is still retried): they are long, carry no idempotency key, and a repeat of one
/// whose answer was lost fails (<c>already sharded</c>, <c>an operation in progress</c>) or rebalances again — call
/// <see cref="IShardRegistry.DiscoverAsync"/> to learn the state before repeating. Their attempts are limited by
/// <see cref="ShardsClientOptions.OperationTimeout"/> (the silo's own grain call timeout must allow as much).</para>
/// <para><see cref="ITableShard.RefreshCapacityAsync"/> has no HTTP route and throws <see cref="NotSupportedException"/>.</para>
/// </remarks>
public sealed class ShardsClient : IDisposable
{
    private readonly ShardsHttpTransport _transport;
    private readonly HttpClient? _ownedClient;
    private readonly HttpMessageInvoker? _ownedInvoker;

    /// <summary>Creates a client with its own connection pool (HTTP/2 where the endpoint offers it). Dispose it when done.</summary>
    /// <exception cref="ArgumentException">An option is invalid; the message names it.</exception>
    public ShardsClient(ShardsClientOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Options = options;
        _ownedClient = new HttpClient(ShardsResilience.CreateHandler(options, CreateHandler()), disposeHandler: true) { Timeout = Timeout.InfiniteTimeSpan };
        var http = _ownedClient;
        _transport = new ShardsHttpTransport(() => http, options);
    }

    /// <summary>
    /// Creates a client over an <see cref="HttpClient"/> the caller owns (its <c>BaseAddress</c> and <c>Timeout</c>
    /// are not used: addresses come from <see cref="ShardsClientOptions.Endpoints"/>, the time limit from
    /// <see cref="ShardsClientOptions.Timeout"/>). Useful with a test server's handler.
    /// </summary>
    /// <exception cref="ArgumentException">An option is invalid; the message names it.</exception>
    public ShardsClient(HttpClient httpClient, ShardsClientOptions options)
    {
        ArgumentNullException.ThrowIfNull(httpClient);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Options = options;

        // The caller's client gets the same resilience pipeline in front of it (an attempt is a fresh request).
        _ownedInvoker = new HttpMessageInvoker(ShardsResilience.CreateHandler(options, new HttpClientForwarder(httpClient)), disposeHandler: true);
        var invoker = _ownedInvoker;
        _transport = new ShardsHttpTransport(() => invoker, options);
    }

    /// <summary>Used by <c>AddShardsClient</c>: a client per call from the factory (which pools handlers).</summary>
    internal ShardsClient(IHttpClientFactory httpClientFactory, ShardsClientOptions options)
    {
        options.Validate();
        Options = options;
        _transport = new ShardsHttpTransport(() => httpClientFactory.CreateClient(ShardsClientServiceCollectionExtensions.HttpClientName), options);
    }

    /// <summary>The options this client was created with. Changing them afterwards has no effect on endpoints or the API key.</summary>
    public ShardsClientOptions Options { get; }

    /// <summary>
    /// Returns a reference to the grain with <paramref name="key"/>. Supported: <see cref="ITableShard"/> and
    /// <see cref="IShardRegistry"/>, both keyed <c>tenant:table</c>. A reference holds no connection and may be kept.
    /// </summary>
    /// <typeparam name="TGrainInterface"><see cref="ITableShard"/> or <see cref="IShardRegistry"/>.</typeparam>
    /// <param name="key">The grain key, <c>tenant:table</c>.</param>
    /// <exception cref="ArgumentException">The key is empty, or the interface has no HTTP implementation.</exception>
    /// <exception cref="ShardException"><c>INVALID_ARGUMENT</c> when the key is not a valid <c>tenant:table</c>.</exception>
    public TGrainInterface GetGrain<TGrainInterface>(string key) where TGrainInterface : IGrainWithStringKey
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        if (typeof(TGrainInterface) == typeof(ITableShard))
        {
            var (tenant, table) = ShardName.Parse(key);
            return (TGrainInterface)(object)new HttpTableShard(_transport, Options.AddIdempotencyKeys, tenant, table);
        }

        if (typeof(TGrainInterface) == typeof(IShardRegistry))
        {
            var (tenant, table) = ShardName.Parse(key);
            return (TGrainInterface)(object)new HttpShardRegistry(_transport, Options, tenant, table);
        }

        throw new ArgumentException(
            $"The client has no HTTP implementation of {typeof(TGrainInterface).Name}; supported: {nameof(ITableShard)}, {nameof(IShardRegistry)}.",
            nameof(TGrainInterface));
    }

    /// <summary>The shard of <paramref name="table"/> of <paramref name="tenant"/>: <c>GetGrain&lt;ITableShard&gt;(tenant + ":" + table)</c>.</summary>
    /// <exception cref="ShardException"><c>INVALID_ARGUMENT</c> when a name is not 1–64 characters of <c>[A-Za-z0-9_]</c>.</exception>
    public ITableShard GetTable(string tenant, string table) => GetGrain<ITableShard>(ShardName.Format(tenant, table));

    /// <summary>The shard registry of <paramref name="table"/> of <paramref name="tenant"/>: <c>GetGrain&lt;IShardRegistry&gt;(tenant + ":" + table)</c>.</summary>
    /// <param name="tenant">The tenant's name.</param>
    /// <param name="table">The table's name.</param>
    /// <exception cref="ShardException"><c>INVALID_ARGUMENT</c> when a name is not 1–64 characters of <c>[A-Za-z0-9_]</c>.</exception>
    public IShardRegistry GetRegistry(string tenant, string table) => GetGrain<IShardRegistry>(ShardName.Format(tenant, table));

    /// <summary>
    /// The record of a long operation of <paramref name="tenant"/> (<c>GET /v1/operations/{id}</c>): restore, shard, unshard
    /// or rebalance, while it runs and after; null when the silo knows no such operation of the tenant (not started yet,
    /// or forgotten after its retention). Pass your own <c>OperationId</c> in the request to watch an operation you start.
    /// </summary>
    public async Task<OperationInfo?> GetOperationAsync(string tenant, string operationId, CancellationToken cancellationToken = default)
    {
        ShardName.Validate(tenant, "tenant");
        if (!OperationIds.IsValid(operationId))
        {
            throw new ShardException(ShardErrorCode.InvalidArgument, $"operationId must be 1-{OperationIds.MaxLength} characters of [A-Za-z0-9_-].");
        }

        try
        {
            var r = await _transport.GetAsync(tenant, "v1/operations/" + operationId, ClientJsonContext.Default.OperationResponse, cancellationToken).ConfigureAwait(false);
            var error = r.Error is { } e ? new OperationError(e.Code ?? ShardErrorCode.Internal.ToWire(), e.Message ?? string.Empty) : null;
            return new OperationInfo(r.Id, r.Kind, r.Target, r.State, r.Phase, r.Done, r.Total, r.StartedAt, r.EndedAt, error, tenant);
        }
        catch (ShardException ex) when (ex.Code == ShardErrorCode.NotFound)
        {
            return null;
        }
    }

    /// <summary>Releases the connection pool when the client created its own (never a caller's <see cref="HttpClient"/>).</summary>
    public void Dispose()
    {
        _ownedClient?.Dispose();
        _ownedInvoker?.Dispose();
    }

    /// <summary>The handler every client uses: pooled connections recycled every 5 minutes (DNS changes), several HTTP/2 connections allowed, gzip/brotli.</summary>
    internal static HttpMessageHandler CreateHandler() => new SocketsHttpHandler
    {
        PooledConnectionLifetime = TimeSpan.FromMinutes(5),
        EnableMultipleHttp2Connections = true,
        AutomaticDecompression = DecompressionMethods.GZip | DecompressionMethods.Brotli,
        ConnectTimeout = TimeSpan.FromSeconds(10),
    };
}
