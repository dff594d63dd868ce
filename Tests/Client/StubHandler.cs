using System.Net;
using System.Text;

namespace OrleansShards.Tests.Client;

/// <summary>An HTTP handler answering from a script, recording every request body.</summary>
internal sealed class StubHandler(Func<int, HttpRequestMessage, HttpResponseMessage> answer) : HttpMessageHandler
{
    public List<(HttpRequestMessage Request, string Body)> Requests { get; } = [];

    public static HttpResponseMessage Json(HttpStatusCode status, string json) =>
        new(status) { Content = new StringContent(json, Encoding.UTF8, "application/json") };

    public static HttpResponseMessage Error(HttpStatusCode status, string code) =>
        Json(status, $$$"""{"error":{"code":"{{{code}}}","message":"scripted {{{code}}}","retryable":{{{(code is "RETRYABLE" or "OVERLOADED" ? "true" : "false")}}}}}""");

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var body = request.Content is null ? string.Empty : await request.Content.ReadAsStringAsync(cancellationToken);
        Requests.Add((request, body));
        return answer(Requests.Count, request);
    }
}
