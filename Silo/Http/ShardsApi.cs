using Microsoft.Extensions.Logging;
using OrleansShards.Silo.Diagnostics;
using OrleansShards.Silo.Hosting;

namespace OrleansShards.Silo.Http;

/// <summary>A <c>/v1/tables/{table}/…</c> handler: the table from the route, the shared request context, and its answer.</summary>
internal delegate Task<IResult> TableHandler(HttpContext http, string table, ShardRequestContext ctx);

/// <summary>
/// Runs every <c>/v1</c> handler: applies the concurrency limit, turns every failure into the JSON error shape with
/// its status, and writes the answer. A request the client aborted gets no body; unexpected exceptions are logged
/// and answered <c>INTERNAL</c>. Handlers are mapped as plain request delegates (<see cref="Handle"/>): no parameter
/// binding, service resolution or endpoint filter runs per request, which on a single-row write is several
/// microseconds of a request that costs about a hundred.
/// </summary>
internal sealed partial class ShardsApi(IServiceProvider services)
{
    private Services? _services;

    /// <summary>The request delegate that runs <paramref name="handler"/> with the route's <c>{table}</c>.</summary>
    public RequestDelegate Handle(TableHandler handler) => http => RunAsync(http, handler);

    private async Task RunAsync(HttpContext http, TableHandler handler)
    {
        // Resolved at the first request, not when the routes are mapped: the options behind them are validated when
        // the host starts, and a bad option must fail the start, not the mapping.
        var (limiter, context, guard, logger, metrics) = _services ??= new Services(
            services.GetRequiredService<ShardsRequestLimiter>(),
            services.GetRequiredService<ShardRequestContext>(),
            services.GetRequiredService<AnonymousAccessGuard>(),
            services.GetRequiredService<ILogger<ShardsApi>>(),
            services.GetRequiredService<SiloMetrics>());
        IResult result;
        if (guard.Refuses(http))
        {
            result = ShardsErrors.ToResult(ShardErrorCode.Unauthenticated, AnonymousAccessGuard.RefusalMessage);
        }
        else if (!limiter.TryAcquire())
        {
            metrics.Rejected(ShardErrorCode.Overloaded);
            result = ShardsErrors.ToResult(ShardErrorCode.Overloaded, "The silo is serving its maximum number of requests; retry later.");
        }
        else
        {
            try
            {
                result = await handler(http, http.Request.RouteValues["table"] as string ?? "", context).ConfigureAwait(false);
            }
            catch (Exception ex) when (http.RequestAborted.IsCancellationRequested)
            {
                LogAborted(logger, http.Request.Method, http.Request.Path, ex.GetType().Name);
                return;
            }
            catch (Exception ex)
            {
                var (code, message) = ShardsErrors.Classify(ex);
                if (code == ShardErrorCode.Internal)
                {
                    LogUnexpected(logger, ex, http.Request.Method, http.Request.Path);
                }

                metrics.Rejected(code);
                result = ShardsErrors.ToResult(code, message);
            }
            finally
            {
                limiter.Release();
            }
        }

        await result.ExecuteAsync(http).ConfigureAwait(false);
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Unexpected failure serving {Method} {Path}")]
    private static partial void LogUnexpected(ILogger logger, Exception exception, string method, string path);

    [LoggerMessage(Level = LogLevel.Debug, Message = "{Method} {Path} aborted by the client ({Exception})")]
    private static partial void LogAborted(ILogger logger, string method, string path, string exception);

    private sealed record Services(ShardsRequestLimiter Limiter, ShardRequestContext Context, AnonymousAccessGuard Guard, ILogger Logger, SiloMetrics Metrics);
}
