using System.ComponentModel.DataAnnotations;
using System.Net;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace OrleansShards.Grains.Cluster;

/// <summary>
/// Cluster mode, bound from <c>Shards:Cluster</c> (environment <c>Shards__Cluster__*</c>). With <see cref="Redis"/>
/// set the silo joins a cluster whose membership, reminders, ownership map, invalidation stream and cache live in
/// that Redis; without it the silo runs embedded (localhost clustering) and the other keys but the ports are unused.
/// Checked by the generated <see cref="ShardClusterOptionsValidator"/>: the ranges are data annotations, the rules
/// between fields (distinct ports, and in cluster mode the Redis string, the names and the address) are
/// <see cref="Validate"/>.
/// </summary>
public sealed class ShardClusterOptions : IValidatableObject
{
    /// <summary>The configuration section these options are bound from.</summary>
    public const string SectionName = "Shards:Cluster";

    /// <summary>Redis connection string (StackExchange.Redis syntax). Set → cluster mode. Default unset (embedded).</summary>
    public string? Redis { get; set; }

    /// <summary>Orleans cluster id: silos with the same id and Redis form one cluster. Default <c>orleansshards</c>.</summary>
    public string ClusterId { get; set; } = "orleansshards";

    /// <summary>Orleans service id; also prefixes the ownership map's Redis keys. Default <c>orleansshards</c>.</summary>
    public string ServiceId { get; set; } = "orleansshards";

    /// <summary>
    /// The silo's stable identity: its shard files belong to this name, not to its address, so a silo restarted
    /// with the same name and data directory gets its shards back. Default <c>POD_NAME</c>, else the host name.
    /// Two live silos must never share a name.
    /// </summary>
    public string? SiloName { get; set; }

    /// <summary>Orleans silo-to-silo port. Default 11111.</summary>
    [Range(1, 65535)]
    public int SiloPort { get; set; } = 11111;

    /// <summary>Orleans client gateway port. Default 30000.</summary>
    [Range(1, 65535)]
    public int GatewayPort { get; set; } = 30000;

    /// <summary>
    /// The address other silos and clients dial. Default <c>POD_IP</c>, else the first non-loopback IPv4 address
    /// (tests: <c>127.0.0.1</c>).
    /// </summary>
    public string? AdvertisedAddress { get; set; }

    /// <summary>
    /// Copies of every shard, the primary included, capped at the number of active silos when the shard is opened.
    /// A write is acknowledged once a majority of the copies hold it. Default 3; 1 turns replication off.
    /// </summary>
    [Range(1, 7)]
    public int ReplicationFactor { get; set; } = 3;

    /// <summary>
    /// How long a commit waits for a majority of the shard's copies (and a promotion for the replicas' answers) before
    /// the write answers <c>UNAVAILABLE</c>. Default 5 s.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.001", "00:05:00")]
    public TimeSpan ReplicationTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How long a replica's silo may be gone (not an active member, and no acknowledgement from it) before the primary
    /// seeds a new replica on another silo in its place, so that the shard has its copies again. Default 5 minutes.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "10675199.02:48:05.4775807")]
    public TimeSpan ReplicaReplaceAfter { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>True when <see cref="Redis"/> is set.</summary>
    public bool Enabled => !string.IsNullOrWhiteSpace(Redis);

    /// <summary>The silo name to use: <see cref="SiloName"/>, else <c>POD_NAME</c>, else the host name.</summary>
    public string EffectiveSiloName =>
        !string.IsNullOrWhiteSpace(SiloName) ? SiloName!
        : Environment.GetEnvironmentVariable("POD_NAME") is { Length: > 0 } pod ? pod
        : System.Net.Dns.GetHostName();

    /// <summary>
    /// The rules between fields: the two ports differ; in cluster mode <see cref="Redis"/> parses as a
    /// StackExchange.Redis configuration string, <see cref="ClusterId"/>, <see cref="ServiceId"/> and the silo name are
    /// 1-128 characters of letters, digits, '-', '_' or '.' (they become Redis keys and file names), and
    /// <see cref="AdvertisedAddress"/> is an IP address. Each message names the configuration key.
    /// </summary>
    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (SiloPort == GatewayPort)
        {
            yield return new ValidationResult($"{SectionName}:SiloPort and {SectionName}:GatewayPort must differ (both are {SiloPort}).", [nameof(SiloPort), nameof(GatewayPort)]);
        }

        if (!Enabled)
        {
            yield break;
        }

        string? redisError = null;
        try
        {
            _ = ConfigurationOptions.Parse(Redis!);
        }
        catch (Exception ex) when (ex is ArgumentException or RedisException)
        {
            redisError = ex.Message;
        }

        if (redisError is not null)
        {
            yield return new ValidationResult($"{SectionName}:Redis is not a Redis connection string: {redisError}", [nameof(Redis)]);
        }

        foreach (var (key, value) in new[] { (nameof(ClusterId), ClusterId), (nameof(ServiceId), ServiceId), (nameof(SiloName), EffectiveSiloName) })
        {
            if (string.IsNullOrWhiteSpace(value) || value.Length > 128 || !value.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))
            {
                yield return new ValidationResult($"{SectionName}:{key} must be 1-128 characters of letters, digits, '-', '_' or '.'; it is '{value}'.", [key]);
            }
        }

        if (AdvertisedAddress is { Length: > 0 } address && !IPAddress.TryParse(address, out _))
        {
            yield return new ValidationResult($"{SectionName}:AdvertisedAddress must be an IP address; it is '{address}'.", [nameof(AdvertisedAddress)]);
        }
    }
}

/// <summary>Validates <see cref="ShardClusterOptions"/>: generated from its data annotations and <see cref="ShardClusterOptions.Validate"/>.</summary>
[OptionsValidator]
public sealed partial class ShardClusterOptionsValidator : IValidateOptions<ShardClusterOptions>;
