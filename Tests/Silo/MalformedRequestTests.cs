using System.Net.Sockets;
using System.Text;
using OrleansShards.Silo.Http;
using OrleansShards.Tests.Infrastructure;

namespace OrleansShards.Tests.Silo;

/// <summary>
/// Requests Kestrel refuses before any middleware runs (a NUL in a header, in the path or as <c>%00</c>) answered an
/// empty 400; they get the API's JSON error now, over a raw socket as an attacker would send them — and a valid
/// request before them on the same connection is answered untouched.
/// </summary>
public sealed class MalformedRequestTests(SharedKestrelSilo silo) : IClassFixture<SharedKestrelSilo>
{
    [Theory]
    [InlineData("GET /v1/tables/a%00b/stats HTTP/1.1\r\nHost: x\r\nX-Tenant-Id: acme\r\n\r\n")]
    [InlineData("GET /v1/tables/items/stats HTTP/1.1\r\nHost: x\r\nX-Tenant-Id: ac\0me\r\n\r\n")]
    [InlineData("GET /v1/tables/it\0ems/stats HTTP/1.1\r\nHost: x\r\nX-Tenant-Id: acme\r\n\r\n")]
    public async Task A_NUL_in_a_header_or_the_path_gets_the_json_error_answer(string request)
    {
        var answer = await ExchangeAsync(request);

        Assert.StartsWith("HTTP/1.1 400 Bad Request\r\n", answer, StringComparison.Ordinal);
        Assert.Contains("Content-Type: application/json", answer, StringComparison.Ordinal);
        var body = answer[(answer.IndexOf("\r\n\r\n", StringComparison.Ordinal) + 4)..];
        Assert.Contains("\"code\":\"INVALID_ARGUMENT\"", body, StringComparison.Ordinal);
        Assert.Contains($"Content-Length: {Encoding.UTF8.GetByteCount(body)}\r\n", answer, StringComparison.Ordinal);
    }

    public static TheoryData<string, string> TooLongOrUnsupported => new()
    {
        { "GET /v1/tables/items/rows/" + new string('a', 16_000) + " HTTP/1.1\r\nHost: x\r\nX-Tenant-Id: acme\r\n\r\n", "HTTP/1.1 414 URI Too Long\r\n" },
        { "GET /v1/tables/items/stats HTTP/1.1\r\nHost: x\r\nX-Tenant-Id: acme\r\nX-Big: " + new string('a', 100_000) + "\r\n\r\n", "HTTP/1.1 431 Request Header Fields Too Large\r\n" },
        { "POST /v1/tables/items/query HTTP/1.2\r\nHost: x\r\nContent-Length: 20\r\n\r\n{\"query\":\"SELECT 1\"}", "HTTP/1.1 505 HTTP Version Not Supported\r\n" },
    };

    [Theory]
    [MemberData(nameof(TooLongOrUnsupported))]
    public async Task A_request_target_or_headers_too_long_or_an_unknown_HTTP_version_get_the_json_error_with_kestrels_status(string request, string status)
    {
        var answer = await ExchangeAsync(request);

        Assert.StartsWith(status, answer, StringComparison.Ordinal);
        var body = answer[(answer.IndexOf("\r\n\r\n", StringComparison.Ordinal) + 4)..];
        Assert.Contains("\"code\":\"INVALID_ARGUMENT\"", body, StringComparison.Ordinal);
        Assert.Contains($"Content-Length: {Encoding.UTF8.GetByteCount(body)}\r\n", answer, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_valid_request_before_a_malformed_one_on_the_same_connection_is_answered_untouched()
    {
        var answer = await ExchangeAsync(
            "GET /health HTTP/1.1\r\nHost: x\r\n\r\n" +
            "GET /v1/tables/items/stats HTTP/1.1\r\nHost: x\r\nX-Tenant-Id: ac\0me\r\n\r\n");

        Assert.StartsWith("HTTP/1.1 200 OK\r\n", answer, StringComparison.Ordinal);
        var second = answer.IndexOf("HTTP/1.1 400 Bad Request\r\n", StringComparison.Ordinal);
        Assert.True(second > 0, answer);
        Assert.Contains("\"code\":\"INVALID_ARGUMENT\"", answer[second..], StringComparison.Ordinal);
    }

    [Fact]
    public void Only_kestrels_empty_400_is_rewritten()
    {
        var empty = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\nDate: x\r\nServer: Kestrel\r\n\r\n"u8;
        var rewritten = Encoding.ASCII.GetString(MalformedRequestAnswer.Rewrite(empty)!);
        Assert.EndsWith("\r\n\r\n" + Encoding.UTF8.GetString(MalformedRequestAnswer.Body), rewritten, StringComparison.Ordinal);
        Assert.Contains("Connection: close\r\n", rewritten, StringComparison.Ordinal);

        Assert.Null(MalformedRequestAnswer.Rewrite("HTTP/1.1 400 Bad Request\r\nContent-Length: 57\r\n\r\n"u8));

        // A co-hosting application's own empty 400 (its JSON binding failed) keeps the connection open: left alone.
        Assert.Null(MalformedRequestAnswer.Rewrite("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nDate: x\r\nServer: Kestrel\r\n\r\n"u8));
        Assert.Null(MalformedRequestAnswer.Rewrite("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"u8));
        Assert.Null(MalformedRequestAnswer.Rewrite("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n"u8));
    }

    private async Task<string> ExchangeAsync(string request)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(silo.Url.Host, silo.Url.Port);
        var stream = client.GetStream();
        await stream.WriteAsync(Encoding.UTF8.GetBytes(request));
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var received = new MemoryStream();
        var buffer = new byte[4096];
        int read;
        while ((read = await stream.ReadAsync(buffer, timeout.Token)) > 0)
        {
            received.Write(buffer, 0, read);
        }

        return Encoding.UTF8.GetString(received.ToArray());
    }
}
