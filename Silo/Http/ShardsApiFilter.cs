using Microsoft.Extensions.Logging;

namespace OrleansShards.Silo.Http;

/// <summary>
/// Wraps every <c>/v1</c> endpoint: applies the concurrency limit, and turns every failure into the
/// JSON error shape with its status. A request the client aborted gets no body. Unexpected
/// exceptions are logged and answered <c>INTERNAL</c>.
/// </summary>
internal sealed partial class ShardsApiFilter(ShardsRequestLimiter limiter, ILogger<ShardsApiFilter> logger) : IEndpointFilter
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        if (!limiter.TryAcquire())
        {
            return ShardsErrors.ToResult(ShardErrorCode.Overloaded, "The silo is serving its maximum number of requests; retry later.");
        }

        try
        {
            return await next(context).ConfigureAwait(false);
        }
        catch (Exception ex) when (http.RequestAborted.IsCancellationRequested)
        {
            LogAborted(http.Request.Method, http.Request.Path, ex.GetType().Name);
            return Results.Empty;
        }
        catch (Exception ex)
        {
            var (code, message) = ShardsErrors.Classify(ex);
            if (code == ShardErrorCode.Internal)
            {
                LogUnexpected(ex, http.Request.Method, http.Request.Path);
            }

            return ShardsErrors.ToResult(code, message);
        }
        finally
        {
            limiter.Release();
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Unexpected failure serving {Method} {Path}")]
    private partial void LogUnexpected(Exception exception, string method, string path);

    [LoggerMessage(Level = LogLevel.Debug, Message = "{Method} {Path} aborted by the client ({Exception})")]
    private partial void LogAborted(string method, string path, string exception);
}
