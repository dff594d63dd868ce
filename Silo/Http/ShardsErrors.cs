using System.Text.Json;
using OrleansShards.Grains.Storage;
using OrleansShards.Silo.Http.Wire;

namespace OrleansShards.Silo.Http;

/// <summary>Maps any failure to its API error code and writes <c>{error:{code, message, retryable}}</c>.</summary>
internal static class ShardsErrors
{
    /// <summary>The code and client-facing message of <paramref name="exception"/>; <c>INTERNAL</c> for anything unexpected.</summary>
    public static (ShardErrorCode Code, string Message) Classify(Exception exception)
    {
        for (Exception? e = exception; e is not null; e = e.InnerException)
        {
            switch (e)
            {
                case ShardException shard:
                    return (shard.Code, shard.Message);
                case TimeoutException:
                    return (ShardErrorCode.Timeout, "The call timed out.");
                case Orleans.Runtime.OrleansMessageRejectionException or Orleans.Runtime.Messaging.ConnectionFailedException:
                    // The silo holding the shard died or cannot be reached (Orleans rejected or broke the call).
                    return (ShardErrorCode.Unavailable, "The silo holding this shard is not reachable; retry.");
                case JsonException json when UnknownField(json) is { } field:
                    return (ShardErrorCode.InvalidArgument, $"The request body has a field this route does not take: '{field}'.");
                case JsonException json:
                    return (ShardErrorCode.InvalidArgument, "Malformed JSON: " + json.Message);
                case BadHttpRequestException bad:
                    return bad.StatusCode == StatusCodes.Status413PayloadTooLarge
                        ? (ShardErrorCode.PayloadTooLarge, "The request body is too large.")
                        : (ShardErrorCode.InvalidArgument, "Bad request: " + bad.Message);
                case IOException io when ShardFileBudget.IsTooManyOpenFiles(io):
                    // The process is out of file descriptors (e.g. measuring a tenant's storage): retryable, never a 500.
                    return (ShardErrorCode.Overloaded, "The silo cannot open more files now; retry shortly.");
                case OverflowException:
                    // Checked arithmetic on values a request supplied (sums of counts, sizes): the request's values are out of range.
                    return (ShardErrorCode.InvalidArgument, "A value is out of the range of a 64-bit integer.");
                case AggregateException:
                    // Look inside: the cause may be a ShardException (e.g. a shard that cannot open).
                    continue;
                default:
                    break;
            }
        }

        return (ShardErrorCode.Internal, "An unexpected error occurred; it has been logged.");
    }

    /// <summary>The name of a body field no member maps (the bodies refuse unknown fields), or null.</summary>
    private static string? UnknownField(JsonException exception)
    {
        const string Marker = "The JSON property '";
        var message = exception.Message;
        var start = message.IndexOf(Marker, StringComparison.Ordinal);
        if (start < 0 || !message.Contains("could not be mapped", StringComparison.Ordinal))
        {
            return null;
        }

        start += Marker.Length;
        var end = message.IndexOf('\'', start);
        return end > start ? message[start..end] : null;
    }

    /// <summary>The JSON error answer with the code's HTTP status.</summary>
    public static IResult ToResult(ShardErrorCode code, string message) =>
        TypedResults.Json(
            new ErrorResponse(new ErrorDetail(code.ToWire(), message, code.IsRetryable())),
            ShardsJsonContext.Default.ErrorResponse,
            statusCode: code.ToHttpStatus());

    /// <summary>Writes the JSON error answer directly (outside endpoint filters, e.g. status-code pages).</summary>
    public static Task WriteAsync(HttpContext http, ShardErrorCode code, string message)
    {
        http.Response.StatusCode = code.ToHttpStatus();
        return http.Response.WriteAsJsonAsync(
            new ErrorResponse(new ErrorDetail(code.ToWire(), message, code.IsRetryable())),
            ShardsJsonContext.Default.ErrorResponse,
            cancellationToken: http.RequestAborted);
    }
}
