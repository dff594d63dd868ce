using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using OrleansShards.Runtime;

namespace OrleansShards.Benchmarks.Runtime;

/// <summary>
/// Cost of one in-process grain call on a warm activation through an <see cref="IGrainFactory"/>
/// reference, against calling the same method directly on a plain object (baseline). The methods
/// complete synchronously, so the difference is the runtime's own overhead per call: proxy dispatch,
/// cycle check, activation lookup, turn gate, call chain. Uses the shared <see cref="BenchmarkConfig"/>
/// passed by Program.
/// </summary>
public class GrainCallBenchmarks
{
    private IHost? _host;
    private string? _directory;
    private IAdderGrain _grain = null!;
    private AdderGrain _plain = null!;

    [GlobalSetup]
    public void Setup()
    {
        _directory = Path.Combine(Path.GetTempPath(), "orleansshards-bench-" + Guid.NewGuid().ToString("N")[..8]);
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Services.AddLogging();
        builder.Services.AddGrainRuntime(configureReminders: r => r.DatabasePath = Path.Combine(_directory, "reminders.db"));
        builder.Services.AddGrain<IAdderGrain, AdderGrain>();
        _host = builder.Build();
        _host.StartAsync().GetAwaiter().GetResult();
        _grain = _host.Services.GetRequiredService<IGrainFactory>().GetGrain<IAdderGrain>("bench");
        _grain.Add(1).GetAwaiter().GetResult(); // warm: activate once
        _plain = new AdderGrain();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _host?.StopAsync().GetAwaiter().GetResult();
        _host?.Dispose();
        if (_directory is not null && Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    [Benchmark(Baseline = true, Description = "direct call (plain object)")]
    public Task<int> Direct() => _plain.Add(1);

    [Benchmark(Description = "grain call (writing turn)")]
    public Task<int> GrainCall() => _grain.Add(1);

    [Benchmark(Description = "grain call ([ReadOnly] turn)")]
    public Task<int> GrainCallReadOnly() => _grain.Get();
}

public interface IAdderGrain : IGrainWithStringKey
{
    Task<int> Add(int value);

    [ReadOnly]
    Task<int> Get();
}

public sealed class AdderGrain : Grain, IAdderGrain
{
    private int _sum;

    public Task<int> Add(int value)
    {
        _sum += value;
        return Task.FromResult(_sum);
    }

    public Task<int> Get() => Task.FromResult(_sum);
}
