using System.ComponentModel.DataAnnotations;
using System.Globalization;

namespace OrleansShards.Silo.Hosting;

/// <summary>
/// Options of the silo host, bound from the configuration section <c>Shards</c>. Every default is
/// stated; invalid values fail the host at start with a message naming the option's configuration key, through the
/// generated <see cref="ShardsSiloOptionsValidator"/>: <see cref="DataDirectory"/> and the ranges by data annotations,
/// the rules that are not plain ranges in <see cref="Validate"/>.
/// </summary>
public sealed class ShardsSiloOptions : IValidatableObject
{
    /// <summary>Fewest characters of a key given in clear (<see cref="ApiKeyOptions.Key"/>, <see cref="OperatorKeyOptions.Key"/>).</summary>
    internal const int MinimumKeyLength = 16;

    /// <summary>The configuration section these options are bound from.</summary>
    public const string SectionName = "Shards";

    /// <summary>Environment variable (and top-level configuration key) giving the shard size limit in GB.</summary>
    public const string MaxShardSizeGbVariable = "MAX_SHARD_SIZE_GB";

    /// <summary>
    /// Root of every shard file (<c>{DataDirectory}/{tenant}/{table}.db</c>) and of the silo's own files
    /// (<c>{DataDirectory}/.silo/reminders.db</c>). Relative paths are under the working directory. Default <c>./data</c>.
    /// </summary>
    [Required(ErrorMessage = "Shards:DataDirectory must name a directory.")]
    public string DataDirectory { get; set; } = "data";

    /// <summary>
    /// Size limit of one shard in GB (2^30 bytes). Default 10. <c>MAX_SHARD_SIZE_GB</c> sets it when
    /// <c>Shards:MaxShardSizeGb</c> is not configured.
    /// </summary>
    public double MaxShardSizeGb { get; set; } = 10;

    /// <summary>Exact size limit of one shard in bytes; overrides <see cref="MaxShardSizeGb"/> when set (tests use tiny limits). Default null.</summary>
    public long? MaxShardSizeBytes { get; set; }

    /// <summary>Largest accepted request body in bytes; larger bodies answer <c>PAYLOAD_TOO_LARGE</c> (413). Default 1 MB.</summary>
    [Range(1L, long.MaxValue)]
    public long MaxRequestBodyBytes { get; set; } = 1024 * 1024;

    /// <summary>
    /// Most <c>/v1</c> requests served at once by this silo; beyond it requests are refused at once
    /// (no queue) with <c>OVERLOADED</c> (429). Default 512.
    /// </summary>
    [Range(1, int.MaxValue)]
    public int MaxConcurrentRequests { get; set; } = 512;

    /// <summary>
    /// API keys. When empty, requests are not authenticated and the standalone silo listens on loopback only.
    /// When not empty, every <c>/v1</c> request needs <c>Authorization: Bearer &lt;key&gt;</c> with a key of the request's tenant.
    /// </summary>
    public IList<ApiKeyOptions> ApiKeys { get; } = [];

    /// <summary>
    /// Operator keys. When any API or operator key is configured, <c>/metrics</c> and <c>/dashboard</c> need
    /// <c>Authorization: Bearer &lt;operator key&gt;</c> (a tenant's key is refused). Default none.
    /// </summary>
    public IList<OperatorKeyOptions> OperatorKeys { get; } = [];

    /// <summary>
    /// Maps the Orleans Dashboard at <c>/dashboard</c> (the standalone silo adds its services; a co-hosted app calls
    /// <c>silo.AddDashboard()</c> itself). Default true.
    /// </summary>
    public bool Dashboard { get; set; } = true;

    /// <summary>
    /// Serve the HTTP API without API keys on addresses other than loopback. Default false: without keys, a silo or
    /// co-hosted app that listens beyond loopback fails its start (and a request arriving on such an address answers
    /// <c>UNAUTHENTICATED</c>); when true, it starts and logs a warning naming the addresses.
    /// </summary>
    public bool AllowAnonymous { get; set; }

    /// <summary>The effective shard size limit in bytes.</summary>
    public long EffectiveMaxShardSizeBytes =>
        MaxShardSizeBytes ?? (long)Math.Min(long.MaxValue, MaxShardSizeGb * 1024 * 1024 * 1024);

    /// <summary>
    /// The rules checked here: the shard size (<see cref="MaxShardSizeBytes"/> positive when set,
    /// else <see cref="MaxShardSizeGb"/> a positive finite number) and each API and operator key.
    /// </summary>
    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (MaxShardSizeBytes is { } bytes)
        {
            if (bytes <= 0)
            {
                yield return new ValidationResult($"Shards:MaxShardSizeBytes must be positive (was {bytes}).", [nameof(MaxShardSizeBytes)]);
            }
        }
        else if (!(MaxShardSizeGb > 0) || double.IsInfinity(MaxShardSizeGb))
        {
            yield return new ValidationResult(
                $"Shards:MaxShardSizeGb (or {MaxShardSizeGbVariable}) must be a positive number (was {MaxShardSizeGb.ToString(CultureInfo.InvariantCulture)}).",
                [nameof(MaxShardSizeGb)]);
        }

        for (var i = 0; i < ApiKeys.Count; i++)
        {
            var key = ApiKeys[i];
            if (!ShardName.IsValid(key.Tenant))
            {
                yield return new ValidationResult($"Shards:ApiKeys:{i}:Tenant must be 1-{ShardName.MaxLength} characters of [A-Za-z0-9_].", [nameof(ApiKeys)]);
            }

            if (KeyFailure(key.KeySha256, key.Key) is { } failure)
            {
                yield return new ValidationResult($"Shards:ApiKeys:{i}{failure}", [nameof(ApiKeys)]);
            }
        }

        for (var i = 0; i < OperatorKeys.Count; i++)
        {
            var key = OperatorKeys[i];
            if (KeyFailure(key.KeySha256, key.Key) is { } failure)
            {
                yield return new ValidationResult($"Shards:OperatorKeys:{i}{failure}", [nameof(OperatorKeys)]);
            }
        }

        // One key for two tenants, or for a tenant and the operator, would let one reach the other's data: refused.
        var owners = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var keys = ApiKeys.Select((k, i) => (Path: $"Shards:ApiKeys:{i}", Owner: "tenant " + k.Tenant, k.Key, k.KeySha256))
            .Concat(OperatorKeys.Select((k, i) => (Path: $"Shards:OperatorKeys:{i}", Owner: "the operator", k.Key, k.KeySha256)));
        foreach (var (path, owner, key, keySha256) in keys)
        {
            if (KeyFailure(keySha256, key) is not null)
            {
                continue;
            }

            var hash = string.IsNullOrEmpty(keySha256) ? Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(key!))) : keySha256!;
            if (owners.TryGetValue(hash, out var first) && first != owner)
            {
                yield return new ValidationResult($"{path} is the same key as one of {first}: each key must belong to one tenant or to the operator.", [nameof(ApiKeys)]);
            }
            else
            {
                owners.TryAdd(hash, owner);
            }
        }
    }

    /// <summary>What is wrong with a key's pair of settings (the text after its path), or null.</summary>
    private static string? KeyFailure(string? keySha256, string? key)
    {
        var hasHash = !string.IsNullOrEmpty(keySha256);
        var hasKey = !string.IsNullOrEmpty(key);
        if (hasHash == hasKey)
        {
            return " must set exactly one of KeySha256 and Key.";
        }

        if (hasHash && !IsSha256Hex(keySha256!))
        {
            return ":KeySha256 must be 64 hex digits (the SHA-256 of the key).";
        }

        return hasKey && key!.Length < MinimumKeyLength ? $":Key must be at least {MinimumKeyLength} characters." : null;
    }

    private static bool IsSha256Hex(string text) => text.Length == 64 && text.All(char.IsAsciiHexDigit);
}
