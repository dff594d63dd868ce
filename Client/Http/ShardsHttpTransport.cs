using System.Net;
using System.Net.Http.Headers;
using Polly.Timeout;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using OrleansShards.Client.Http.Wire;

namespace OrleansShards.Client.Http;

/// <summary>
/// Sends one logical call: picks the endpoint, adds the API key and tenant, tells the resilience pipeline
/// (<see cref="ShardsResilience"/>, in the client's handler chain) what the call allows — whether it is safe to
/// repeat, its per-attempt time limit — and turns error answers into <see cref="ShardException"/> with the wire code.
/// The pipeline retries <c>RETRYABLE</c>/<c>OVERLOADED</c> answers and connection failures with jittered exponential
/// backoff when the call is safe to repeat; a failure to connect is always retried (nothing was sent).
/// </summary>
internal sealed class ShardsHttpTransport
{
    public const string TenantHeader = "X-Tenant-Id";

    private readonly Func<HttpMessageInvoker> _http;
    private readonly EndpointRing _endpoints;
    private readonly ShardsClientOptions _options;
    private readonly AuthenticationHeaderValue? _authorization;

    /// <param name="http">The sender; its handler chain must hold the pipeline of <see cref="ShardsResilience"/>.</param>
    /// <param name="options">The client's options.</param>
    public ShardsHttpTransport(Func<HttpMessageInvoker> http, ShardsClientOptions options)
    {
        _http = http;
        _options = options;
        _endpoints = new EndpointRing(options.Endpoints);
        _authorization = options.ApiKey is { } key ? new AuthenticationHeaderValue("Bearer", key) : null;
    }

    /// <summary>The time limit of one attempt of an ordinary call: <see cref="ShardsClientOptions.Timeout"/>.</summary>
    public AttemptTimeout DefaultTimeout => new(_options.Timeout, "ShardsClientOptions.Timeout");

    /// <summary>POSTs <paramref name="body"/> and reads the answer, each attempt limited by <see cref="ShardsClientOptions.Timeout"/>.</summary>
    public Task<TResponse> PostAsync<TBody, TResponse>(
        string tenant, string path, TBody body, JsonTypeInfo<TBody> bodyInfo, JsonTypeInfo<TResponse> responseInfo, bool safeToRetry, CancellationToken cancellationToken) =>
        PostAsync(tenant, path, body, bodyInfo, responseInfo, safeToRetry, DefaultTimeout, cancellationToken);

    /// <summary>POSTs <paramref name="body"/> and reads the answer, each attempt limited by <paramref name="timeout"/>.</summary>
    public Task<TResponse> PostAsync<TBody, TResponse>(
        string tenant, string path, TBody body, JsonTypeInfo<TBody> bodyInfo, JsonTypeInfo<TResponse> responseInfo, bool safeToRetry, AttemptTimeout timeout, CancellationToken cancellationToken)
    {
        var bytes = JsonSerializer.SerializeToUtf8Bytes(body, bodyInfo);
        return SendAsync(tenant, HttpMethod.Post, path, bytes, responseInfo, safeToRetry, timeout, cancellationToken);
    }

    /// <summary>GETs <paramref name="pathAndQuery"/> and reads the answer; always safe to retry.</summary>
    public Task<TResponse> GetAsync<TResponse>(string tenant, string pathAndQuery, JsonTypeInfo<TResponse> responseInfo, CancellationToken cancellationToken) =>
        SendAsync(tenant, HttpMethod.Get, pathAndQuery, null, responseInfo, safeToRetry: true, DefaultTimeout, cancellationToken);

    internal const string RetryAfterKey = "OrleansShards.RetryAfter";

    /// <summary>Delay before retry <paramref name="attempt"/> (0-based): see <see cref="ShardsResilience.Backoff"/>.</summary>
    internal TimeSpan Backoff(int attempt, TimeSpan? retryAfter) => ShardsResilience.Backoff(_options, attempt, retryAfter);

    private async Task<TResponse> SendAsync<TResponse>(
        string tenant, HttpMethod method, string path, byte[]? body, JsonTypeInfo<TResponse> responseInfo, bool safeToRetry, AttemptTimeout attemptTimeout, CancellationToken cancellationToken)
    {
        var call = new ShardsCall(safeToRetry, attemptTimeout, path, _endpoints);
        (call.EndpointIndex, var uri) = _endpoints.Resolve(path);
        using var request = new HttpRequestMessage(method, uri)
        {
            Version = _options.HttpVersion,
            VersionPolicy = _options.HttpVersionPolicy,
        };
        request.Headers.Authorization = _authorization;
        request.Headers.TryAddWithoutValidation(TenantHeader, tenant);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        request.Options.Set(ShardsResilience.CallKey, call);
        if (body is not null)
        {
            request.Content = new ByteArrayContent(body);
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
        }

        try
        {
            using var response = await _http().SendAsync(request, cancellationToken).ConfigureAwait(false);
            var bytes = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                throw ToException(response, bytes);
            }

            try
            {
                return JsonSerializer.Deserialize(bytes, responseInfo)
                    ?? throw new ShardException(ShardErrorCode.Internal, $"The silo answered {method} {uri.AbsolutePath} with JSON null.");
            }
            catch (JsonException ex)
            {
                throw new ShardException(ShardErrorCode.Internal, $"The silo's answer to {method} {uri.AbsolutePath} is not the expected JSON: {ex.Message}", ex);
            }
        }
        catch (TimeoutRejectedException ex) when (!cancellationToken.IsCancellationRequested)
        {
            var attempted = request.RequestUri ?? uri;
            throw new ShardException(
                ShardErrorCode.Timeout,
                $"No answer from {attempted.GetLeftPart(UriPartial.Authority)} to {method} {attempted.AbsolutePath} within {attemptTimeout.Limit.TotalSeconds:0.###} s ({attemptTimeout.Source}).",
                ex);
        }
    }

    /// <summary>Rebuilds the silo's error: <c>{error:{code, message, retryable}}</c>, or a code chosen from the status when the body is not that.</summary>
    internal static ShardException ToException(HttpResponseMessage response, byte[] body)
    {
        var status = (int)response.StatusCode;
        ErrorDetail? detail = null;
        try
        {
            detail = body.Length > 0 ? JsonSerializer.Deserialize(body, ClientJsonContext.Default.ErrorResponse)?.Error : null;
        }
        catch (JsonException)
        {
            // Not our error shape (a proxy's page, say): fall back to the status.
        }

        var code = detail?.Code is { } wire ? ShardErrorCodes.FromWire(wire) : FromStatus(status);
        var message = detail?.Message is { Length: > 0 } m
            ? m
            : $"HTTP {status} {response.ReasonPhrase} from {response.RequestMessage?.RequestUri?.GetLeftPart(UriPartial.Path)}.";
        var exception = new ShardException(code, message);
        exception.Data["HttpStatus"] = status;
        if (response.Headers.RetryAfter?.Delta is { } delta)
        {
            exception.Data[RetryAfterKey] = delta;
        }

        return exception;
    }

    private static ShardErrorCode FromStatus(int status) => status switch
    {
        400 => ShardErrorCode.InvalidArgument,
        401 => ShardErrorCode.Unauthenticated,
        403 => ShardErrorCode.Forbidden,
        404 => ShardErrorCode.NotFound,
        408 => ShardErrorCode.Timeout,
        409 => ShardErrorCode.ConflictUnique,
        413 => ShardErrorCode.PayloadTooLarge,
        429 => ShardErrorCode.Overloaded,
        (int)HttpStatusCode.BadGateway or 503 or (int)HttpStatusCode.GatewayTimeout => ShardErrorCode.Retryable,
        507 => ShardErrorCode.CapacityExceeded,
        _ => ShardErrorCode.Internal,
    };
}
