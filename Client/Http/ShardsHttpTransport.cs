using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using OrleansShards.Client.Http.Wire;

namespace OrleansShards.Client.Http;

/// <summary>
/// Sends one logical call: picks the endpoint, adds the API key and tenant, applies the per-attempt
/// timeout, turns error answers into <see cref="ShardException"/> with the wire code, and retries
/// <c>RETRYABLE</c>/<c>OVERLOADED</c> answers and connection failures with jittered exponential backoff
/// when the call is safe to repeat. A failure to connect is always retried (nothing was sent).
/// </summary>
internal sealed class ShardsHttpTransport
{
    public const string TenantHeader = "X-Tenant-Id";

    private readonly Func<HttpClient> _http;
    private readonly Uri[] _endpoints;
    private readonly ShardsClientOptions _options;
    private readonly AuthenticationHeaderValue? _authorization;
    private int _current;

    public ShardsHttpTransport(Func<HttpClient> http, ShardsClientOptions options)
    {
        _http = http;
        _options = options;
        _endpoints = options.Endpoints.Select(e => e.AbsoluteUri.EndsWith('/') ? e : new Uri(e.AbsoluteUri + "/")).ToArray();
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

    private async Task<TResponse> SendAsync<TResponse>(
        string tenant, HttpMethod method, string path, byte[]? body, JsonTypeInfo<TResponse> responseInfo, bool safeToRetry, AttemptTimeout timeout, CancellationToken cancellationToken)
    {
        for (var attempt = 0; ; attempt++)
        {
            var endpointIndex = Volatile.Read(ref _current);
            var endpoint = _endpoints[endpointIndex % _endpoints.Length];
            TimeSpan? retryAfter = null;
            try
            {
                return await SendOnceAsync(tenant, method, new Uri(endpoint, path), body, responseInfo, timeout, cancellationToken).ConfigureAwait(false);
            }
            catch (ShardException ex) when (ex.Retryable && safeToRetry && attempt < _options.MaxRetries)
            {
                retryAfter = ex.Data[RetryAfterKey] as TimeSpan?;
            }
            catch (HttpRequestException ex) when (attempt < _options.MaxRetries && (safeToRetry || ex.HttpRequestError == HttpRequestError.ConnectionError))
            {
                if (ex.HttpRequestError == HttpRequestError.ConnectionError && _endpoints.Length > 1)
                {
                    // Move every later call to the next endpoint too; another caller may already have.
                    Interlocked.CompareExchange(ref _current, (endpointIndex + 1) % _endpoints.Length, endpointIndex);
                }
            }

            await Task.Delay(Backoff(attempt, retryAfter), cancellationToken).ConfigureAwait(false);
        }
    }

    internal const string RetryAfterKey = "OrleansShards.RetryAfter";

    /// <summary>Delay before retry <paramref name="attempt"/> (0-based): base·2^attempt capped, times a random 50–100 %, at least Retry-After.</summary>
    internal TimeSpan Backoff(int attempt, TimeSpan? retryAfter)
    {
        var exponential = _options.RetryBaseDelay.TotalMilliseconds * Math.Pow(2, Math.Min(attempt, 30));
        var capped = Math.Min(exponential, _options.MaxRetryDelay.TotalMilliseconds);
        var jittered = capped * (0.5 + (Random.Shared.NextDouble() * 0.5));
        var delay = TimeSpan.FromMilliseconds(jittered);
        if (retryAfter is { } hint && hint > delay)
        {
            delay = hint < _options.MaxRetryDelay ? hint : _options.MaxRetryDelay;
        }

        return delay;
    }

    private async Task<TResponse> SendOnceAsync<TResponse>(
        string tenant, HttpMethod method, Uri uri, byte[]? body, JsonTypeInfo<TResponse> responseInfo, AttemptTimeout attemptTimeout, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, uri)
        {
            Version = _options.HttpVersion,
            VersionPolicy = _options.HttpVersionPolicy,
        };
        request.Headers.Authorization = _authorization;
        request.Headers.TryAddWithoutValidation(TenantHeader, tenant);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        if (body is not null)
        {
            request.Content = new ByteArrayContent(body);
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (attemptTimeout.Limit != Timeout.InfiniteTimeSpan)
        {
            timeout.CancelAfter(attemptTimeout.Limit);
        }

        try
        {
            using var response = await _http().SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token).ConfigureAwait(false);
            var bytes = await response.Content.ReadAsByteArrayAsync(timeout.Token).ConfigureAwait(false);
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
        catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            throw new ShardException(
                ShardErrorCode.Timeout,
                $"No answer from {uri.GetLeftPart(UriPartial.Authority)} to {method} {uri.AbsolutePath} within {attemptTimeout.Limit.TotalSeconds:0.###} s ({attemptTimeout.Source}).",
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
