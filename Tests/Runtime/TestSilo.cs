using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using OrleansShards.Runtime;
using OrleansShards.Runtime.Reminders;
using OrleansShards.Tests.Infrastructure;
using OrleansShards.Tests.Runtime.Grains;

namespace OrleansShards.Tests.Runtime;

/// <summary>
/// A real host running the grain runtime with every test grain, a fake clock (unless real time is
/// asked for), reminders in a temp SQLite file and the in-memory stream provider "mem".
/// </summary>
internal sealed class TestSilo : IAsyncDisposable
{
    private readonly TempDirectory? _ownedDirectory;

    private TestSilo(IHost host, FakeTimeProvider time, Probe probe, TempDirectory? ownedDirectory)
    {
        Host = host;
        Time = time;
        Probe = probe;
        _ownedDirectory = ownedDirectory;
    }

    public IHost Host { get; }

    public FakeTimeProvider Time { get; }

    public Probe Probe { get; }

    public IGrainFactory Grains => Host.Services.GetRequiredService<IGrainFactory>();

    public GrainRuntime Runtime => Host.Services.GetRequiredService<GrainRuntime>();

    public ReminderService Reminders => Host.Services.GetRequiredService<ReminderService>();

    public static IHost Build(
        string directory,
        TimeProvider time,
        Probe probe,
        Action<GrainRuntimeOptions>? configure = null,
        Action<ReminderOptions>? reminders = null,
        Action<OrleansShards.Runtime.Streams.MemoryStreamOptions>? streams = null)
    {
        var builder = Microsoft.Extensions.Hosting.Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Services.AddLogging();
        builder.Services.AddSingleton(probe);
        builder.Services.AddSingleton(time);
        builder.Services.AddGrainRuntime(
            o =>
            {
                o.CallTimeout = TimeSpan.FromSeconds(30);
                configure?.Invoke(o);
            },
            r =>
            {
                r.DatabasePath = Path.Combine(directory, "reminders.db");
                r.MinimumPeriod = TimeSpan.FromSeconds(1);
                reminders?.Invoke(r);
            });
        builder.Services.AddGrain<ICounterGrain, CounterGrain>();
        builder.Services.AddGrain<IFailingGrain, FailingGrain>();
        builder.Services.AddGrain<IReadWriteGrain, ReadWriteGrain>();
        builder.Services.AddGrain<ICycleGrain, CycleGrain>();
        builder.Services.AddGrain<IReminderGrain, ReminderGrain>();
        builder.Services.AddGrain<ITimerGrain, TimerGrain>();
        builder.Services.AddGrain<IStreamConsumerGrain, StreamConsumerGrain>();
        builder.Services.AddMemoryStreams("mem", streams);
        return builder.Build();
    }

    public static async Task<TestSilo> StartAsync(
        Action<GrainRuntimeOptions>? configure = null,
        Action<ReminderOptions>? reminders = null,
        Action<OrleansShards.Runtime.Streams.MemoryStreamOptions>? streams = null,
        bool realTime = false,
        FakeTimeProvider? time = null,
        TempDirectory? directory = null,
        Probe? probe = null)
    {
        var owned = directory is null ? new TempDirectory("runtime") : null;
        var dir = directory ?? owned!;
        var fake = time ?? new FakeTimeProvider();
        probe ??= new Probe();
        var host = Build(dir.Path, realTime ? TimeProvider.System : fake, probe, configure, reminders, streams);
        await host.StartAsync().Within();
        return new TestSilo(host, fake, probe, owned);
    }

    public async Task StopAsync()
    {
        using var cts = new CancellationTokenSource(Eventually.DefaultTimeout);
        await Host.StopAsync(cts.Token);
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await StopAsync();
        }
        finally
        {
            if (Host is IAsyncDisposable d)
            {
                await d.DisposeAsync();
            }
            else
            {
                Host.Dispose();
            }

            _ownedDirectory?.Dispose();
        }
    }
}
