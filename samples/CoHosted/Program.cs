using OrleansShards.Grains.Hosting;
using OrleansShards.Grains.Hosting.Reminders;
using OrleansShards.Silo.Hosting;

namespace OrleansShards.Samples.CoHosted;

/// <summary>
/// An existing ASP.NET Core app (a tiny notes service) that co-hosts the silo: it runs an Orleans silo with
/// <c>builder.UseOrleans(silo =&gt; … .AddShards())</c>, adds the shards' options and HTTP services with
/// <c>builder.AddShardsApi(...)</c>, keeps serving its own endpoints, calls its
/// tenants' shards in-process through <see cref="IGrainFactory"/> (no HTTP hop), and also exposes the
/// shard API (<c>/v1/…</c>, <c>/health</c>, <c>/metrics</c>) with <c>app.MapShardsApi()</c>.
/// </summary>
public class Program
{
    /// <summary>Runs the app. Configuration: <c>Shards:*</c> as for the standalone silo; this sample defaults the data directory to <c>./cohosted-data</c>.</summary>
    public static async Task Main(string[] args)
    {
        var app = Build(args);
        await app.RunAsync();
    }

    /// <summary>Builds the app (separate from <see cref="Main"/> so the steps read in order).</summary>
    public static WebApplication Build(string[] args)
    {
        var builder = WebApplication.CreateBuilder(args);

        // 1. The Orleans silo, in this process, with the shard grains. Ports come from Shards:Cluster:SiloPort and
        //    Shards:Cluster:GatewayPort (defaults 11111 and 30000).
        builder.UseOrleans(silo =>
        {
            silo.UseLocalhostClustering(
                builder.Configuration.GetValue(ShardsSiloHostingExtensions.SiloPortKey, ShardsSiloHostingExtensions.DefaultSiloPort),
                builder.Configuration.GetValue(ShardsSiloHostingExtensions.GatewayPortKey, ShardsSiloHostingExtensions.DefaultGatewayPort));
            silo.UseSqliteReminderService(_ => { }); // the file: {DataDirectory}/.silo/reminders.db (AddShardsApi)
            silo.AddShards();
        });

        // 2. The shards' options and HTTP services. Options bind from the "Shards" section first; this lambda runs
        //    after, so only set what the configuration did not.
        builder.AddShardsApi(o =>
        {
            if (builder.Configuration["Shards:DataDirectory"] is null)
            {
                o.DataDirectory = "cohosted-data";
            }
        });

        var app = builder.Build();

        // 3. The app's own endpoints.
        app.MapGet("/", () => "Notes service (co-hosting an OrleansShards silo)");
        app.MapNotes();

        // 4. Optional: the shard HTTP API for other services (remove this line to keep the shards private).
        app.MapShardsApi();
        return app;
    }
}
