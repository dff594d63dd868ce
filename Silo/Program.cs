using OrleansShards.Silo.Hosting;
using OrleansShards.Silo.Http;

// The standalone silo. Honours ASPNETCORE_URLS / --urls (default http://127.0.0.1:5080) and keeps its
// data under Shards:DataDirectory (default ./data). SIGTERM / Ctrl+C stop the host gracefully: every
// grain is deactivated, which closes its SQLite files.
var builder = WebApplication.CreateBuilder(args);
builder.AddShardsSilo();
if (builder.Configuration["Logging:LogLevel:Microsoft.AspNetCore"] is null)
{
    // One line per request at Information is noise for a data silo; configuration may turn it back on.
    builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
}

if (builder.Configuration["Logging:LogLevel:Orleans"] is null)
{
    // Orleans reports every start/stop step at Information; configuration may turn it back on.
    builder.Logging.AddFilter("Orleans", LogLevel.Warning);
}

var apiKeysConfigured = builder.Configuration.GetSection("Shards:ApiKeys").GetChildren().Any();
var allowAnonymous = builder.Configuration.GetValue<bool>("Shards:AllowAnonymous");
var urls = builder.Configuration[WebHostDefaults.ServerUrlsKey];
if (string.IsNullOrWhiteSpace(urls))
{
    builder.WebHost.UseUrls(LoopbackGuard.DefaultUrl);
}

if (!apiKeysConfigured && !allowAnonymous)
{
    // Without API keys anyone who can connect can read and write every tenant: refuse to listen beyond loopback.
    var endpointUrls = builder.Configuration.GetSection("Kestrel:Endpoints").GetChildren().Select(e => e["Url"]);
    var exposed = LoopbackGuard.NonLoopback([urls, .. endpointUrls]);
    if (exposed.Count > 0)
    {
        await Console.Error.WriteLineAsync(
            $"Refusing to start: no API keys are configured (Shards:ApiKeys), so the silo only listens on loopback, but it was asked to listen on {string.Join(", ", exposed)}. " +
            "Configure API keys, listen on 127.0.0.1 / [::1] / localhost, or set Shards:AllowAnonymous=true.");
        return 2;
    }
}

var app = builder.Build();
app.UseStatusCodePages(context => ShardsStatusCodePages.WriteAsync(context.HttpContext));
app.MapShardsApi();
app.MapFallback(static (HttpContext http) => ShardsStatusCodePages.NotFound(http));

if (!apiKeysConfigured && !allowAnonymous)
{
    app.Logger.LogWarning(
        "No API keys are configured (Shards:ApiKeys): requests are not authenticated, so the silo listens on loopback only ({Urls}).",
        urls ?? LoopbackGuard.DefaultUrl);
}

await app.RunAsync();
return 0;

/// <summary>Entry point type, visible to WebApplicationFactory in tests.</summary>
public partial class Program;
