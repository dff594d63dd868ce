namespace OrleansShards.Tests.Infrastructure;

/// <summary>
/// A real silo on Kestrel (<see cref="KestrelSilo"/>) on a test's redis-server: the Redis cache and stream when
/// <c>cluster</c> is null, else a one-silo cluster named <c>cluster</c> (membership, reminders, ownership map on Redis).
/// </summary>
internal sealed class RedisKestrelSilo : KestrelSilo, IAsyncDisposable
{
    public RedisKestrelSilo(string configuration, string? cluster = null, string? keyPrefix = null, string? name = null)
    {
        if (keyPrefix is not null)
        {
            Settings["Shards:Redis:KeyPrefix"] = keyPrefix;
        }

        if (cluster is null)
        {
            Settings["Shards:Redis:Configuration"] = configuration;
            return;
        }

        Settings["Shards:Cluster:Redis"] = configuration;
        Settings["Shards:Cluster:ClusterId"] = cluster;
        Settings["Shards:Cluster:ServiceId"] = cluster;
        Settings["Shards:Cluster:SiloName"] = name ?? cluster;
        Settings["Shards:Cluster:AdvertisedAddress"] = "127.0.0.1";
        Settings["Shards:Cluster:ReplicationFactor"] = "1";
    }

    ValueTask IAsyncDisposable.DisposeAsync() => new(DisposeAsync());
}
