using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Hosting;
using Orleans.Configuration;
using OrleansShards.Grains.Hosting;
using OrleansShards.Grains.Hosting.Reminders;

namespace OrleansShards.Benchmarks.Infrastructure;

/// <summary>The benchmarks' Orleans silo: localhost clustering on free loopback ports, SQLite reminders, the shards.</summary>
internal static class EmbeddedSilo
{
    public static void UseShardsSilo(this IHostApplicationBuilder builder, string dataDirectory, Action<TableShardOptions>? configure = null, TimeSpan? responseTimeout = null)
    {
        builder.UseOrleans(silo =>
        {
            silo.UseLocalhostClustering(FreePort(), FreePort());
            silo.UseSqliteReminderService(o => o.DatabasePath = Path.Combine(dataDirectory, ".silo", "reminders.db"));
            silo.Configure<MessagingOptions>(o => o.ResponseTimeout = responseTimeout ?? TimeSpan.FromSeconds(60));
            silo.AddShards(o =>
            {
                o.DataDirectory = dataDirectory;
                configure?.Invoke(o);
            });
        });
    }

    /// <summary>A loopback TCP port nothing listens on now.</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
