using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace OrleansShards.Tests.Infrastructure;

/// <summary>Free loopback TCP ports for the Orleans silos the tests start (silo and gateway ports must not collide).</summary>
public static class FreePorts
{
    private static readonly ConcurrentDictionary<int, byte> Taken = new();

    /// <summary>Points an embedded silo's Orleans ports (<c>Shards:Cluster:SiloPort</c>, <c>GatewayPort</c>) at free ports.</summary>
    public static void ForSilo(IDictionary<string, string?> settings)
    {
        settings["Shards:Cluster:SiloPort"] = Next().ToString(System.Globalization.CultureInfo.InvariantCulture);
        settings["Shards:Cluster:GatewayPort"] = Next().ToString(System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>The settings of <see cref="ForSilo"/> as a new collection.</summary>
    public static Dictionary<string, string?> SiloSettings()
    {
        var settings = new Dictionary<string, string?>(StringComparer.Ordinal);
        ForSilo(settings);
        return settings;
    }

    /// <summary>A port nothing listens on now. A port handed out in this process is not handed out again.</summary>
    public static int Next()
    {
        while (true)
        {
            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            var port = ((IPEndPoint)listener.LocalEndpoint).Port;
            listener.Stop();
            if (Taken.TryAdd(port, 0))
            {
                return port;
            }
        }
    }
}
