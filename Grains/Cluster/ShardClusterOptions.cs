namespace OrleansShards.Grains.Cluster;

/// <summary>
/// Cluster mode, bound from <c>Shards:Cluster</c> (environment <c>Shards__Cluster__*</c>). With <see cref="Redis"/>
/// set the silo joins a cluster whose membership, reminders, ownership map, invalidation stream and cache live in
/// that Redis; without it the silo runs embedded (localhost clustering) and the other keys but the ports are unused.
/// </summary>
public sealed class ShardClusterOptions
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
    public int SiloPort { get; set; } = 11111;

    /// <summary>Orleans client gateway port. Default 30000.</summary>
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
    public int ReplicationFactor { get; set; } = 3;

    /// <summary>
    /// How long a commit waits for a majority of the shard's copies (and a promotion for the replicas' answers) before
    /// the write answers <c>UNAVAILABLE</c>. Default 5 s.
    /// </summary>
    public TimeSpan ReplicationTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How long a replica's silo may be gone (not an active member, and no acknowledgement from it) before the primary
    /// seeds a new replica on another silo in its place, so that the shard has its copies again. Default 5 minutes.
    /// </summary>
    public TimeSpan ReplicaReplaceAfter { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>True when <see cref="Redis"/> is set.</summary>
    public bool Enabled => !string.IsNullOrWhiteSpace(Redis);

    /// <summary>The silo name to use: <see cref="SiloName"/>, else <c>POD_NAME</c>, else the host name.</summary>
    public string EffectiveSiloName =>
        !string.IsNullOrWhiteSpace(SiloName) ? SiloName!
        : Environment.GetEnvironmentVariable("POD_NAME") is { Length: > 0 } pod ? pod
        : System.Net.Dns.GetHostName();
}
