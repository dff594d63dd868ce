namespace OrleansShards.Silo.Http;

/// <summary>
/// Gives body-less error statuses produced outside the endpoints (no route, wrong method, a
/// server-level 400/413) the JSON error shape.
/// </summary>
public static class ShardsStatusCodePages
{
    /// <summary>Writes <c>{error:{…}}</c> for the response's current status; use with <c>UseStatusCodePages</c>.</summary>
    public static Task WriteAsync(HttpContext http)
    {
        ArgumentNullException.ThrowIfNull(http);
        var code = http.Response.StatusCode switch
        {
            StatusCodes.Status404NotFound or StatusCodes.Status405MethodNotAllowed => ShardErrorCode.NotFound,
            StatusCodes.Status401Unauthorized => ShardErrorCode.Unauthenticated,
            StatusCodes.Status403Forbidden => ShardErrorCode.Forbidden,
            StatusCodes.Status408RequestTimeout => ShardErrorCode.Timeout,
            StatusCodes.Status413PayloadTooLarge => ShardErrorCode.PayloadTooLarge,
            StatusCodes.Status429TooManyRequests => ShardErrorCode.Overloaded,
            StatusCodes.Status503ServiceUnavailable => ShardErrorCode.Retryable,
            >= 400 and < 500 => ShardErrorCode.InvalidArgument,
            _ => ShardErrorCode.Internal,
        };
        return ShardsErrors.WriteAsync(http, code, $"HTTP {http.Response.StatusCode} for {http.Request.Method} {http.Request.Path}.");
    }

    /// <summary>The JSON <c>NOT_FOUND</c> answer for an unknown route.</summary>
    public static Task NotFound(HttpContext http)
    {
        ArgumentNullException.ThrowIfNull(http);
        return ShardsErrors.WriteAsync(http, ShardErrorCode.NotFound, $"No route {http.Request.Method} {http.Request.Path}.");
    }
}
