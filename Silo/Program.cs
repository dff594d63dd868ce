using OrleansShards.Silo.Hosting;
using OrleansShards.Silo.Http;

// The standalone silo. Honours ASPNETCORE_URLS / --urls (default http://127.0.0.1:5080) and keeps its
// data under Shards:DataDirectory (default ./data). SIGTERM / Ctrl+C stop the host gracefully: every
// grain is deactivated, which closes its SQLite files.
var builder = WebApplication.CreateBuilder(args);
try
{
    builder.AddShardsSilo();
}
catch (Exception ex) when (ConfigurationErrors.Describe(ex) is { } failures)
{
    ConfigurationErrors.Write(Console.Error, failures);
    return ConfigurationErrors.ExitCode;
}

if (builder.Configuration["Logging:LogLevel:Microsoft.AspNetCore"] is null)
{
    // One line per request at Information is noise for a data silo; configuration may turn it back on.
    builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
}

if (builder.Configuration["Logging:LogLevel:Microsoft.Extensions.Hosting"] is null)
{
    // A start refused for an invalid option is printed once, by option and reason, not logged with a stack trace.
    builder.Logging.AddFilter("Microsoft.Extensions.Hosting", LogLevel.Critical);
}

if (builder.Configuration["Logging:LogLevel:Orleans"] is null)
{
    // Orleans reports every start/stop step at Information; configuration may turn it back on.
    builder.Logging.AddFilter("Orleans", LogLevel.Warning);

    // Orleans' placement runs through a Polly pipeline that logs every execution at Information.
    builder.Logging.AddFilter("Polly", LogLevel.Warning);
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

try
{
    await app.StartAsync();
}
catch (Exception ex) when (ConfigurationErrors.Describe(ex) is { } failures)
{
    // An invalid option names itself and why; no stack trace, exit code 2 (not an abort).
    ConfigurationErrors.Write(Console.Error, failures);
    return ConfigurationErrors.ExitCode;
}

await app.WaitForShutdownAsync();
await app.DisposeAsync();
return 0;

/// <summary>Entry point type, visible to WebApplicationFactory in tests.</summary>
public partial class Program;
