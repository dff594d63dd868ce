using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OrleansShards.Grains.Hosting;
using OrleansShards.Grains.Hosting.Reminders;
using Orleans.Configuration;

namespace OrleansShards.Tests.Infrastructure;

/// <summary>A started in-process Orleans silo (localhost clustering on free ports + table shards) over a temp data directory.</summary>
public sealed class ShardTestHost : IAsyncDisposable
{
    private readonly IHost _host;
    private readonly TempDirectory? _ownedDirectory;

    private ShardTestHost(IHost host, string dataDirectory, TempDirectory? owned)
    {
        _host = host;
        DataDirectory = dataDirectory;
        _ownedDirectory = owned;
    }

    public string DataDirectory { get; }

    public IServiceProvider Services => _host.Services;

    public IGrainFactory Grains => _host.Services.GetRequiredService<IGrainFactory>();

    public ITableShard Shard(string tenant, string table) => Grains.GetGrain<ITableShard>(ShardName.Format(tenant, table));

    public static async Task<ShardTestHost> StartAsync(
        Action<TableShardOptions>? configure = null,
        string? dataDirectory = null,
        TimeProvider? time = null,
        Action<IServiceCollection>? services = null,
        Action<ISiloBuilder>? silo = null)
    {
        var owned = dataDirectory is null ? new TempDirectory("shards") : null;
        var dir = dataDirectory ?? owned!.Path;
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        if (time is not null)
        {
            builder.Services.AddShardClock(time);
        }

        builder.UseOrleans(orleans =>
        {
            orleans.UseLocalhostClustering(FreePorts.Next(), FreePorts.Next());
            orleans.UseSqliteReminderService(o => o.DatabasePath = Path.Combine(dir, ".silo", "reminders.db"));
            orleans.Configure<MessagingOptions>(o => o.ResponseTimeout = TimeSpan.FromSeconds(60));
            orleans.AddShards(o =>
            {
                o.DataDirectory = dir;
                configure?.Invoke(o);
            });
            silo?.Invoke(orleans);
        });
        services?.Invoke(builder.Services);
        var host = builder.Build();
        await host.StartAsync();
        return new ShardTestHost(host, dir, owned);
    }

    public async ValueTask DisposeAsync()
    {
        await _host.StopAsync();
        _host.Dispose();
        _ownedDirectory?.Dispose();
    }
}
