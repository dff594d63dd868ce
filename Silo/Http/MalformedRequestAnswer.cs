using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace OrleansShards.Silo.Http;

/// <summary>
/// Gives the requests Kestrel refuses before any middleware runs — a NUL or another invalid byte in a header or in the
/// request target (also <c>%00</c> in the path), a malformed request line — the API's JSON error answer instead of an
/// empty <c>400</c>. A connection middleware on every endpoint: only Kestrel's own body-less
/// <c>HTTP/1.1 400 Bad Request</c> header block (<c>Content-Length: 0</c>, written in one piece; the API itself never
/// answers an empty 400) is replaced, with <c>{"error":{"code":"INVALID_ARGUMENT","message":…,"retryable":false}}</c>.
/// Every other byte passes through untouched and uncopied.
/// </summary>
internal static class MalformedRequestAnswer
{
    private static readonly byte[] BadRequestStart = "HTTP/1.1 400 Bad Request\r\n"u8.ToArray();
    private static readonly byte[] EmptyLength = "\r\nContent-Length: 0\r\n"u8.ToArray();
    private static readonly byte[] HeadersEnd = "\r\n\r\n"u8.ToArray();

    internal static readonly byte[] Body = Encoding.UTF8.GetBytes(
        "{\"error\":{\"code\":\"INVALID_ARGUMENT\",\"message\":\"Malformed HTTP request: the request line or a header holds a byte HTTP does not allow (for example NUL, also as %00 in the path).\",\"retryable\":false}}");

    /// <summary>Installs the answer on every Kestrel endpoint of the host.</summary>
    public static void Install(KestrelServerOptions kestrel) =>
        kestrel.ConfigureEndpointDefaults(listen => listen.Use(next => connection =>
        {
            var transport = connection.Transport;
            connection.Transport = new DuplexPipe(transport.Input, new Writer(transport.Output));
            return next(connection);
        }));

    /// <summary>
    /// Rewrites <paramref name="response"/> (a complete header block) when it is Kestrel's empty 400; null otherwise.
    /// </summary>
    internal static byte[]? Rewrite(ReadOnlySpan<byte> response)
    {
        if (!response.StartsWith(BadRequestStart) || !response.EndsWith(HeadersEnd))
        {
            return null;
        }

        var length = response.IndexOf(EmptyLength);
        if (length < 0)
        {
            return null;
        }

        var replacement = Encoding.ASCII.GetBytes($"\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: {Body.Length}\r\n");
        var rewritten = new byte[response.Length - EmptyLength.Length + replacement.Length + Body.Length];
        var span = rewritten.AsSpan();
        response[..length].CopyTo(span);
        replacement.CopyTo(span[length..]);
        response[(length + EmptyLength.Length)..].CopyTo(span[(length + replacement.Length)..]);
        Body.CopyTo(span[(response.Length - EmptyLength.Length + replacement.Length)..]);
        return rewritten;
    }

    private sealed class DuplexPipe(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;

        public PipeWriter Output { get; } = output;
    }

    /// <summary>
    /// Passes every write through. A single advance that is exactly Kestrel's empty 400 header block (which Kestrel
    /// writes in one piece, then closes the connection) is replaced by the rewritten response; a response with a body,
    /// or bytes that merely begin like one, are never held or changed.
    /// </summary>
    private sealed class Writer(PipeWriter inner) : PipeWriter
    {
        private Memory<byte> _lent;

        public override bool CanGetUnflushedBytes => inner.CanGetUnflushedBytes;

        public override long UnflushedBytes => inner.UnflushedBytes;

        public override Memory<byte> GetMemory(int sizeHint = 0)
        {
            _lent = inner.GetMemory(sizeHint);
            return _lent;
        }

        public override Span<byte> GetSpan(int sizeHint = 0) => GetMemory(sizeHint).Span;

        public override void Advance(int bytes)
        {
            // Advance covers the start of the buffer last lent; only an advance that starts with 'H' is looked at.
            if (bytes >= BadRequestStart.Length && bytes <= _lent.Length && _lent.Span[0] == (byte)'H'
                && Rewrite(_lent.Span[..bytes]) is { } rewritten)
            {
                _lent = default;
                inner.Write(rewritten);
                return;
            }

            _lent = default;
            inner.Advance(bytes);
        }

        public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default) => inner.FlushAsync(cancellationToken);

        public override void CancelPendingFlush() => inner.CancelPendingFlush();

        public override void Complete(Exception? exception = null) => inner.Complete(exception);

        public override ValueTask CompleteAsync(Exception? exception = null) => inner.CompleteAsync(exception);
    }
}
