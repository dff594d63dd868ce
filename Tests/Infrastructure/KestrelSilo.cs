using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OrleansShards.Silo.Hosting;

namespace OrleansShards.Tests.Infrastructure;

/// <summary>
/// A real silo (AddShardsSilo + MapShardsApi) on Kestrel at <c>http://127.0.0.1:{free port}</c> with its own
/// temp data directory, for the client and CLI tests that go through real sockets.
/// </summary>
public class KestrelSilo : IAsyncLifetime
{
    private readonly TempDirectory _data = new("kestrel-silo");
    private WebApplication? _app;

    /// <summary>Configuration keys applied to the silo (e.g. <c>Shards:ApiKeys:0:Tenant</c>); set in the constructor.</summary>
    protected Dictionary<string, string?> Settings { get; } = new(StringComparer.Ordinal);

    public Uri Url { get; private set; } = null!;

    public IServiceProvider Services => _app!.Services;

    /// <summary>The in-process grain factory of this silo (the co-hosted path).</summary>
    public IGrainFactory Grains => Services.GetRequiredService<IGrainFactory>();

    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateBuilder();
        builder.Logging.ClearProviders();
        builder.Configuration["Shards:DataDirectory"] = _data.Path;
        FreePorts.ForSilo(Settings);
        builder.Configuration.AddInMemoryCollection(Settings);
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.AddShardsSilo();
        _app = builder.Build();
        _app.MapShardsApi();
        try
        {
            await _app.StartAsync();
        }
        catch
        {
            // A start that failed (a test of a refused start) is not stopped, only disposed.
            var failed = _app;
            _app = null;
            await failed.DisposeAsync();
            throw;
        }

        var address = _app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
        Url = new Uri(address);
    }

    public async Task DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }

        _data.Dispose();
    }
}

/// <summary>The shared keyless silo of the client and CLI tests.</summary>
public sealed class SharedKestrelSilo : KestrelSilo;

/// <summary>A silo with API keys: tenant <c>alpha</c> has <see cref="AlphaKey"/>, tenant <c>beta</c> has <see cref="BetaKey"/>.</summary>
public sealed class SecuredKestrelSilo : KestrelSilo
{
    public const string AlphaKey = "alpha-client-key-0123456789";
    public const string BetaKey = "beta-client-key-0123456789";

    public SecuredKestrelSilo()
    {
        Settings["Shards:ApiKeys:0:Tenant"] = "alpha";
        Settings["Shards:ApiKeys:0:Key"] = AlphaKey;
        Settings["Shards:ApiKeys:1:Tenant"] = "beta";
        Settings["Shards:ApiKeys:1:Key"] = BetaKey;
    }
}

[CollectionDefinition(Name)]
public sealed class KestrelSiloCollection : ICollectionFixture<SharedKestrelSilo>, ICollectionFixture<SecuredKestrelSilo>
{
    public const string Name = "kestrel-silo";
}
