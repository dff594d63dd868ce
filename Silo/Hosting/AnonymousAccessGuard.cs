using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Options;
using OrleansShards.Silo.Security;

namespace OrleansShards.Silo.Hosting;

/// <summary>
/// Without API keys the HTTP API serves every tenant to anyone who can connect, so it may only be reachable from this
/// machine unless <see cref="ShardsSiloOptions.AllowAnonymous"/> says otherwise. Once the server listens, an app
/// (standalone or co-hosted) listening beyond loopback without keys fails its start, naming the option; with the option
/// set, a warning is logged. Each request is checked too: one that arrived on a non-loopback address is refused with
/// <c>UNAUTHENTICATED</c> (covers addresses bound after start, and servers that report none).
/// </summary>
internal sealed partial class AnonymousAccessGuard(
    IServiceProvider services, ApiKeyAuthenticator apiKeys, IOptions<ShardsSiloOptions> options, ILogger<AnonymousAccessGuard> logger)
    : IHostedLifecycleService
{
    private readonly bool _allowAnonymous = options.Value.AllowAnonymous;

    /// <summary>True when a request must be refused: no keys, not allowed anonymously, and it arrived on a non-loopback address.</summary>
    public bool Refuses(HttpContext http) =>
        !apiKeys.Enabled && !_allowAnonymous
        && http.Connection.LocalIpAddress is { } local && !System.Net.IPAddress.IsLoopback(local)
        && !(local.IsIPv4MappedToIPv6 && System.Net.IPAddress.IsLoopback(local.MapToIPv4()));

    /// <summary>The message of a refused request.</summary>
    public const string RefusalMessage =
        "No API keys are configured (Shards:ApiKeys), so the API answers only on loopback addresses; configure keys, or set Shards:AllowAnonymous to true.";

    public Task StartedAsync(CancellationToken cancellationToken)
    {
        if (apiKeys.Enabled || services.GetService<IServer>()?.Features.Get<IServerAddressesFeature>() is not { } feature)
        {
            return Task.CompletedTask;
        }

        var exposed = LoopbackGuard.NonLoopback(feature.Addresses);
        if (exposed.Count == 0)
        {
            return Task.CompletedTask;
        }

        var addresses = string.Join(", ", exposed);
        if (!_allowAnonymous)
        {
            LogRefused(logger, addresses);
            throw new InvalidOperationException(
                $"The shards API listens on {addresses} without API keys (Shards:ApiKeys): every tenant would be served to anyone who can connect. " +
                "Configure API keys, listen on loopback only, or set Shards:AllowAnonymous to true to accept that.");
        }

        LogAnonymous(logger, addresses);
        return Task.CompletedTask;
    }

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(Level = LogLevel.Warning, Message = "Shards:AllowAnonymous is true: the shards API serves every tenant without API keys on {Addresses}")]
    private static partial void LogAnonymous(ILogger logger, string addresses);

    [LoggerMessage(Level = LogLevel.Critical, Message = "Refusing to serve the shards API without API keys on {Addresses}; set Shards:ApiKeys, or Shards:AllowAnonymous to true")]
    private static partial void LogRefused(ILogger logger, string addresses);
}
