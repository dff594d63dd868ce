using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace OrleansShards.Silo.Http;

/// <summary>
/// Gives the requests Kestrel refuses before any middleware runs — a NUL or another invalid byte in a header or in the
/// request target (also <c>%00</c> in the path), a malformed request line (400), headers or body too slow (408), a
/// request target too long (414), headers too large (431), an unknown HTTP version (505) — the API's JSON error answer
/// instead of an empty body. A connection middleware on every endpoint: only Kestrel's own body-less header block for
/// those statuses (<c>Content-Length: 0</c> and <c>Connection: close</c>, written in one piece; the API itself never
/// answers them with an empty body, and an application co-hosting the API that answers an empty 400 of its own keeps
/// the connection open, so its answer is left alone) is replaced, keeping the status, with
/// <c>{"error":{"code":…,"message":…,"retryable":…}}</c>. Every other byte passes through untouched and uncopied.
/// </summary>
internal static class MalformedRequestAnswer
{
    private static readonly byte[] EmptyLength = "\r\nContent-Length: 0\r\n"u8.ToArray();
    private static readonly byte[] HeadersEnd = "\r\n\r\n"u8.ToArray();

    /// <summary>Kestrel closes the connection after each of its own refusals; an application's empty 400 keeps it open.</summary>
    private static readonly byte[] ConnectionClose = "\r\nConnection: close\r\n"u8.ToArray();

    internal static readonly byte[] Body = Error("INVALID_ARGUMENT",
        "Malformed HTTP request: the request line or a header holds a byte HTTP does not allow (for example NUL, also as %00 in the path).",
        retryable: false);

    /// <summary>Kestrel's body-less refusals, by status line, and the API's answer for each (the status is kept).</summary>
    private static readonly (byte[] Start, byte[] Body)[] Answers =
    [
        ("HTTP/1.1 400 Bad Request\r\n"u8.ToArray(), Body),
        ("HTTP/1.1 408 Request Timeout\r\n"u8.ToArray(), Error("TIMEOUT", "The request's headers or body did not arrive in time.", retryable: true)),
        ("HTTP/1.1 414 URI Too Long\r\n"u8.ToArray(), Error("INVALID_ARGUMENT", "The request target (path and query) is longer than the silo accepts.", retryable: false)),
        ("HTTP/1.1 431 Request Header Fields Too Large\r\n"u8.ToArray(), Error("INVALID_ARGUMENT", "The request's headers are larger than the silo accepts.", retryable: false)),
        ("HTTP/1.1 505 HTTP Version Not Supported\r\n"u8.ToArray(), Error("INVALID_ARGUMENT", "The HTTP version is not supported; use HTTP/1.1 or HTTP/2.", retryable: false)),
    ];

    /// <summary>The shortest status line answered here.</summary>
    private static readonly int ShortestStart = Answers.Min(a => a.Start.Length);

    private static byte[] Error(string code, string message, bool retryable) => Encoding.UTF8.GetBytes(
        $"{{\"error\":{{\"code\":\"{code}\",\"message\":\"{message}\",\"retryable\":{(retryable ? "true" : "false")}}}}}");

    /// <summary>Installs the answer on every Kestrel endpoint of the host.</summary>
    public static void Install(KestrelServerOptions kestrel) =>
        kestrel.ConfigureEndpointDefaults(listen => listen.Use(next => connection =>
        {
            var transport = connection.Transport;
            connection.Transport = new DuplexPipe(transport.Input, new Writer(transport.Output));
            return next(connection);
        }));

    /// <summary>
    /// Rewrites <paramref name="response"/> (a complete header block) when it is one of Kestrel's empty refusals; null
    /// otherwise.
    /// </summary>
    internal static byte[]? Rewrite(ReadOnlySpan<byte> response)
    {
        if (!response.EndsWith(HeadersEnd) || response.IndexOf(ConnectionClose) < 0)
        {
            return null;
        }

        byte[]? body = null;
        foreach (var (start, answer) in Answers)
        {
            if (response.StartsWith(start))
            {
                body = answer;
                break;
            }
        }

        if (body is null)
        {
            return null;
        }

        var length = response.IndexOf(EmptyLength);
        if (length < 0)
        {
            return null;
        }

        var replacement = Encoding.ASCII.GetBytes($"\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: {body.Length}\r\n");
        var rewritten = new byte[response.Length - EmptyLength.Length + replacement.Length + body.Length];
        var span = rewritten.AsSpan();
        response[..length].CopyTo(span);
        replacement.CopyTo(span[length..]);
        response[(length + EmptyLength.Length)..].CopyTo(span[(length + replacement.Length)..]);
        body.CopyTo(span[(response.Length - EmptyLength.Length + replacement.Length)..]);
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
            if (bytes >= ShortestStart && bytes <= _lent.Length && _lent.Span[0] == (byte)'H'
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
