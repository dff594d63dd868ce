using Microsoft.Extensions.Http.Resilience;
using Polly;
using Polly.Retry;

namespace OrleansShards.Client.Http;

/// <summary>
/// The client's resilience pipeline (Microsoft.Extensions.Http.Resilience on Polly), with the client's rules:
/// a retry (<see cref="ShardsClientOptions.MaxRetries"/>, jittered exponential backoff from
/// <see cref="ShardsClientOptions.RetryBaseDelay"/> capped by <see cref="ShardsClientOptions.MaxRetryDelay"/>, at least
/// the answer's <c>Retry-After</c>) of <c>RETRYABLE</c>/<c>OVERLOADED</c> answers and broken connections when the call
/// is safe to repeat, and of a failure to connect for every call (nothing was sent), moving every later call to the
/// next endpoint; inside it, the per-attempt time limit of the call (<see cref="ShardsClientOptions.Timeout"/>, or
/// <see cref="ShardsClientOptions.OperationTimeout"/> for the long sharding calls), which covers the answer's body.
/// What a call allows travels with its request (<see cref="CallKey"/>).
/// </summary>
internal static class ShardsResilience
{
    /// <summary>The per-call facts the pipeline reads from the request.</summary>
    public static readonly HttpRequestOptionsKey<ShardsCall> CallKey = new("OrleansShards.Call");

    /// <summary>Name of the resilience handler on the client's <see cref="HttpClient"/>.</summary>
    public const string PipelineName = "OrleansShards";

    /// <summary>Adds the retry (when <see cref="ShardsClientOptions.MaxRetries"/> &gt; 0) and the attempt timeout to <paramref name="pipeline"/>.</summary>
    public static void Configure(ResiliencePipelineBuilder<HttpResponseMessage> pipeline, ShardsClientOptions options)
    {
        ArgumentNullException.ThrowIfNull(pipeline);
        ArgumentNullException.ThrowIfNull(options);
        if (options.MaxRetries > 0)
        {
            pipeline.AddRetry(new HttpRetryStrategyOptions
            {
                MaxRetryAttempts = options.MaxRetries,
                ShouldRetryAfterHeader = false,
                ShouldHandle = ShouldRetryAsync,
                DelayGenerator = args => new ValueTask<TimeSpan?>(Backoff(options, args.AttemptNumber, args.Outcome.Result?.Headers.RetryAfter?.Delta)),
                OnRetry = OnRetryAsync,
            });
        }

        pipeline.AddTimeout(new HttpTimeoutStrategyOptions
        {
            TimeoutGenerator = static args => new ValueTask<TimeSpan>(CallOf(args.Context)?.Timeout.Limit ?? Timeout.InfiniteTimeSpan),
        });
    }

    /// <summary>
    /// The handler chain of a client: the pipeline, then a handler that reads the answer's body within the attempt
    /// (so the attempt's time limit covers it), then <paramref name="inner"/>.
    /// </summary>
    public static HttpMessageHandler CreateHandler(ShardsClientOptions options, HttpMessageHandler inner)
    {
        var pipeline = new ResiliencePipelineBuilder<HttpResponseMessage>();
        Configure(pipeline, options);
        return new ResilienceHandler(pipeline.Build()) { InnerHandler = new BufferingHandler { InnerHandler = inner } };
    }

    /// <summary>The handler that reads the answer's body inside the attempt (placed inside the pipeline).</summary>
    public static DelegatingHandler CreateBufferingHandler() => new BufferingHandler();

    /// <summary>Delay before retry <paramref name="attempt"/> (0-based): base·2^attempt capped, times a random 50–100 %, at least Retry-After (capped too).</summary>
    internal static TimeSpan Backoff(ShardsClientOptions options, int attempt, TimeSpan? retryAfter)
    {
        var exponential = options.RetryBaseDelay.TotalMilliseconds * Math.Pow(2, Math.Min(attempt, 30));
        var capped = Math.Min(exponential, options.MaxRetryDelay.TotalMilliseconds);
        var jittered = capped * (0.5 + (Random.Shared.NextDouble() * 0.5));
        var delay = TimeSpan.FromMilliseconds(jittered);
        if (retryAfter is { } hint && hint > delay)
        {
            delay = hint < options.MaxRetryDelay ? hint : options.MaxRetryDelay;
        }

        return delay;
    }

    private static ShardsCall? CallOf(ResilienceContext context) =>
        context.GetRequestMessage() is { } request && request.Options.TryGetValue(CallKey, out var call) ? call : null;

    private static async ValueTask<bool> ShouldRetryAsync(RetryPredicateArguments<HttpResponseMessage> args)
    {
        if (CallOf(args.Context) is not { } call)
        {
            return false;
        }

        if (args.Outcome.Exception is HttpRequestException failure)
        {
            return call.SafeToRetry || failure.HttpRequestError == HttpRequestError.ConnectionError;
        }

        if (args.Outcome.Result is not { IsSuccessStatusCode: false } response || !call.SafeToRetry)
        {
            return false;
        }

        var body = await response.Content.ReadAsByteArrayAsync(args.Context.CancellationToken).ConfigureAwait(false);
        return ShardsHttpTransport.ToException(response, body).Retryable;
    }

    private static ValueTask OnRetryAsync(OnRetryArguments<HttpResponseMessage> args)
    {
        if (args.Context.GetRequestMessage() is { } request && request.Options.TryGetValue(CallKey, out var call))
        {
            if (args.Outcome.Exception is HttpRequestException { HttpRequestError: HttpRequestError.ConnectionError })
            {
                call.Endpoints.MoveOn(call.EndpointIndex);
            }

            // Every attempt starts on the current endpoint, which this or another call may have moved.
            (call.EndpointIndex, request.RequestUri) = call.Endpoints.Resolve(call.Path);
        }

        return ValueTask.CompletedTask;
    }

    /// <summary>Reads the answer's body inside the attempt, so the attempt's time limit and retry cover it.</summary>
    private sealed class BufferingHandler : DelegatingHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
            try
            {
                await response.Content.LoadIntoBufferAsync(cancellationToken).ConfigureAwait(false);
                return response;
            }
            catch
            {
                response.Dispose();
                throw;
            }
        }
    }
}

/// <summary>What one logical call allows its attempts, carried by its request.</summary>
/// <param name="SafeToRetry">Whether an answer or a broken connection may be retried (a failure to connect always may).</param>
/// <param name="Timeout">The time limit of one attempt and the option that set it.</param>
/// <param name="Path">The path and query, relative to an endpoint.</param>
/// <param name="Endpoints">The client's endpoints.</param>
internal sealed record ShardsCall(bool SafeToRetry, AttemptTimeout Timeout, string Path, EndpointRing Endpoints)
{
    /// <summary>The endpoint of the current attempt.</summary>
    public int EndpointIndex { get; set; }
}

/// <summary>The client's endpoints and the one calls start on; a failure to connect moves every later call to the next.</summary>
internal sealed class EndpointRing(IEnumerable<Uri> endpoints)
{
    private readonly Uri[] _endpoints = endpoints.Select(e => e.AbsoluteUri.EndsWith('/') ? e : new Uri(e.AbsoluteUri + "/")).ToArray();
    private int _current;

    /// <summary>The current endpoint's index and <paramref name="path"/> on it.</summary>
    public (int Index, Uri Uri) Resolve(string path)
    {
        var index = Volatile.Read(ref _current) % _endpoints.Length;
        return (index, new Uri(_endpoints[index], path));
    }

    /// <summary>Moves to the endpoint after <paramref name="failed"/>, unless another call already moved on.</summary>
    public void MoveOn(int failed)
    {
        if (_endpoints.Length > 1)
        {
            Interlocked.CompareExchange(ref _current, (failed + 1) % _endpoints.Length, failed);
        }
    }
}

/// <summary>Sends through a caller's <see cref="HttpClient"/>, a fresh request per attempt (an HttpClient sends a request once).</summary>
internal sealed class HttpClientForwarder(HttpClient client) : HttpMessageHandler
{
    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var attempt = new HttpRequestMessage(request.Method, request.RequestUri)
        {
            Version = request.Version,
            VersionPolicy = request.VersionPolicy,
            Content = request.Content,
        };
        foreach (var (name, values) in request.Headers)
        {
            attempt.Headers.TryAddWithoutValidation(name, values);
        }

        return client.SendAsync(attempt, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
    }
}
