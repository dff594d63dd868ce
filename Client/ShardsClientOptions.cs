using System.ComponentModel.DataAnnotations;
using System.Diagnostics.CodeAnalysis;
using System.Net;

namespace OrleansShards.Client;

/// <summary>
/// Options of <see cref="ShardsClient"/>. Every default is stated; <see cref="Validate()"/> (run by
/// <c>AddShardsClient</c> and by the <see cref="ShardsClient"/> constructors) fails naming the option. The rules are
/// checked by the generated <c>ShardsClientOptionsValidator</c>: ranges from data annotations, the endpoints, the key,
/// the timeouts (positive or infinite) and the retry delays' order by <see cref="IValidatableObject"/>.
/// </summary>
public sealed class ShardsClientOptions : IValidatableObject
{
    private const string Forever = "10675199.02:48:05.4775807";

    /// <summary>The default silo address, that of <c>scripts/run-silo.sh</c>: <c>http://127.0.0.1:5080</c>.</summary>
    public static readonly Uri DefaultEndpoint = new("http://127.0.0.1:5080");

    /// <summary>
    /// Silo base addresses (<c>http</c> or <c>https</c>, no query). Any silo accepts any request. A call
    /// starts on the endpoint that last answered and moves to the next one when it cannot connect.
    /// Default: <see cref="DefaultEndpoint"/> only.
    /// </summary>
    public IList<Uri> Endpoints { get; set; } = [DefaultEndpoint];

    /// <summary>
    /// The API key, sent as <c>Authorization: Bearer &lt;key&gt;</c>. Default null (nothing sent), which only
    /// works against a silo with no keys configured (it then listens on loopback only).
    /// </summary>
    public string? ApiKey { get; set; }

    /// <summary>Time limit of one HTTP attempt, from sending to the last byte of the answer. Default 30 s (the silo's statement timeout is 30 s).</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Time limit of one HTTP attempt of the long sharding operations — <c>IShardRegistry.ShardAsync</c>,
    /// <c>UnshardAsync</c> and <c>RebalanceAsync</c> — which copy the table and can run far past <see cref="Timeout"/>.
    /// When it passes the call raises <c>TIMEOUT</c> and the operation's outcome is unknown: <c>DiscoverAsync</c> tells
    /// whether it finished or is still running. Default 10 min.
    /// </summary>
    public TimeSpan OperationTimeout { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// Retries after the first attempt for <c>RETRYABLE</c> / <c>OVERLOADED</c> answers and connection
    /// failures, when the call is safe to repeat (see <see cref="ShardsClient"/>). 0 disables retries. Default 3.
    /// </summary>
    [Range(0, 20)]
    public int MaxRetries { get; set; } = 3;

    /// <summary>First retry delay; each further retry doubles it, up to <see cref="MaxRetryDelay"/>, with random jitter (50–100 % of the value). Default 100 ms.</summary>
    [Range(typeof(TimeSpan), "00:00:00", Forever)]
    [UnconditionalSuppressMessage("Trimming", "IL2026:RequiresUnreferencedCode",
        Justification = "Metadata only: the generated ShardsClientOptionsValidator checks the range with its own trim-safe copy of RangeAttribute.")]
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Upper bound of one retry delay (before jitter). Default 5 s.</summary>
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// When true (default), a mutation, batch or COMMIT sent without an idempotency key gets a new GUID key,
    /// reused by all retries of that call, so a retry can never apply a write twice. When false, such calls
    /// are sent once and never retried. Mutations queued in a transaction are never retried.
    /// </summary>
    public bool AddIdempotencyKeys { get; set; } = true;

    /// <summary>
    /// The HTTP version asked for. Default 2.0 with <see cref="HttpVersionPolicy"/> <c>RequestVersionOrLower</c>:
    /// HTTP/2 over <c>https</c> (negotiated by ALPN), HTTP/1.1 over cleartext <c>http</c>, because cleartext
    /// HTTP/2 (h2c) is only possible with prior knowledge.
    /// </summary>
    [Required]
    public Version HttpVersion { get; set; } = System.Net.HttpVersion.Version20;

    /// <summary>
    /// How <see cref="HttpVersion"/> is applied. Default <see cref="System.Net.Http.HttpVersionPolicy.RequestVersionOrLower"/>.
    /// Use <c>RequestVersionExact</c> with 2.0 for h2c with prior knowledge against a silo endpoint configured
    /// for HTTP/2 only.
    /// </summary>
    public HttpVersionPolicy HttpVersionPolicy { get; set; } = HttpVersionPolicy.RequestVersionOrLower;

    /// <summary>Checks every option; throws <see cref="ArgumentException"/> naming the invalid ones.</summary>
    /// <exception cref="ArgumentException">An option is invalid.</exception>
    public void Validate()
    {
        var result = new ShardsClientOptionsValidator().Validate(null, this);
        if (result.Failed)
        {
            throw new ArgumentException(string.Join(" ", result.Failures));
        }
    }

    /// <summary>The rules that are not plain ranges.</summary>
    IEnumerable<ValidationResult> IValidatableObject.Validate(ValidationContext validationContext)
    {
        if (Endpoints is not { Count: > 0 })
        {
            yield return new ValidationResult("ShardsClientOptions.Endpoints must hold at least one silo address.", [nameof(Endpoints)]);
        }
        else
        {
            foreach (var endpoint in Endpoints)
            {
                if (endpoint is null || !endpoint.IsAbsoluteUri
                    || (endpoint.Scheme != Uri.UriSchemeHttp && endpoint.Scheme != Uri.UriSchemeHttps)
                    || !string.IsNullOrEmpty(endpoint.Query) || !string.IsNullOrEmpty(endpoint.Fragment))
                {
                    yield return new ValidationResult(
                        $"ShardsClientOptions.Endpoints: '{endpoint}' must be an absolute http:// or https:// address without query or fragment.",
                        [nameof(Endpoints)]);
                }
            }
        }

        if (ApiKey is { } key && (key.Length == 0 || key.Any(char.IsWhiteSpace)))
        {
            yield return new ValidationResult("ShardsClientOptions.ApiKey must be null or a key without whitespace.", [nameof(ApiKey)]);
        }

        if (Timeout <= TimeSpan.Zero && Timeout != System.Threading.Timeout.InfiniteTimeSpan)
        {
            yield return new ValidationResult($"ShardsClientOptions.Timeout must be positive or Timeout.InfiniteTimeSpan (was {Timeout}).", [nameof(Timeout)]);
        }

        if (OperationTimeout <= TimeSpan.Zero && OperationTimeout != System.Threading.Timeout.InfiniteTimeSpan)
        {
            yield return new ValidationResult(
                $"ShardsClientOptions.OperationTimeout must be positive or Timeout.InfiniteTimeSpan (was {OperationTimeout}).", [nameof(OperationTimeout)]);
        }

        if (MaxRetryDelay < RetryBaseDelay)
        {
            yield return new ValidationResult(
                $"ShardsClientOptions.MaxRetryDelay must be at least RetryBaseDelay (was {MaxRetryDelay}).", [nameof(MaxRetryDelay), nameof(RetryBaseDelay)]);
        }
    }
}
