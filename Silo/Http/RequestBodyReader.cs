using System.Buffers;
using System.IO.Pipelines;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Http.Features;

namespace OrleansShards.Silo.Http;

/// <summary>
/// Reads a JSON request body with the source-generated type info, bounded by a size limit: the
/// declared <c>Content-Length</c> is checked first, Kestrel's per-request limit is set, and the bytes
/// actually received are counted too (chunked bodies have no length). Everything that is not one
/// well-formed JSON value of the expected shape is <c>INVALID_ARGUMENT</c>.
/// </summary>
internal static class RequestBodyReader
{
    public static async Task<T> ReadAsync<T>(HttpContext http, JsonTypeInfo<T> typeInfo, long limit)
        where T : class
    {
        var request = http.Request;
        if (request.ContentLength > limit)
        {
            throw TooLarge(limit);
        }

        if (http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } sizeFeature)
        {
            sizeFeature.MaxRequestBodySize = limit;
        }

        var reader = request.BodyReader;
        while (true)
        {
            var result = await reader.ReadAsync(http.RequestAborted).ConfigureAwait(false);
            var buffer = result.Buffer;
            if (buffer.Length > limit)
            {
                reader.AdvanceTo(buffer.End);
                throw TooLarge(limit);
            }

            if (result.IsCompleted || result.IsCanceled)
            {
                try
                {
                    return Parse(buffer, typeInfo);
                }
                finally
                {
                    reader.AdvanceTo(buffer.End);
                }
            }

            reader.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    private static T Parse<T>(ReadOnlySequence<byte> buffer, JsonTypeInfo<T> typeInfo)
        where T : class
    {
        if (buffer.IsEmpty)
        {
            throw new ShardException(ShardErrorCode.InvalidArgument, "The request needs a JSON body.");
        }

        var json = new Utf8JsonReader(buffer, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Disallow });
        var value = JsonSerializer.Deserialize(ref json, typeInfo);
        if (json.Read())
        {
            throw new ShardException(ShardErrorCode.InvalidArgument, "The request body must hold exactly one JSON value.");
        }

        return value ?? throw new ShardException(ShardErrorCode.InvalidArgument, "The request body must be a JSON object, not null.");
    }

    private static ShardException TooLarge(long limit) =>
        new(ShardErrorCode.PayloadTooLarge, $"The request body is larger than {limit} bytes.");
}
