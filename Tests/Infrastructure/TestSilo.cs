using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Hosting;

namespace OrleansShards.Tests.Infrastructure;

/// <summary>A real in-process Orleans silo (generic host, localhost clustering on free ports).</summary>
internal sealed class TestSilo : IAsyncDisposable
{
    private readonly IHost _host;

    private TestSilo(IHost host) => _host = host;

    public IServiceProvider Services => _host.Services;

    public IGrainFactory Grains => _host.Services.GetRequiredService<IGrainFactory>();

    public static async Task<TestSilo> StartAsync(Action<ISiloBuilder> configure, Action<IServiceCollection>? services = null)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        services?.Invoke(builder.Services);
        builder.UseOrleans(silo =>
        {
            silo.UseLocalhostClustering(siloPort: FreePorts.Next(), gatewayPort: FreePorts.Next());
            configure(silo);
        });
        var host = builder.Build();
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            await host.StartAsync(timeout.Token);
            return new TestSilo(host);
        }
        catch
        {
            host.Dispose();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            await _host.StopAsync(timeout.Token);
        }
        finally
        {
            _host.Dispose();
        }
    }
}
