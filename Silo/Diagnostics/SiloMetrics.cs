using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Orleans.Runtime;

namespace OrleansShards.Silo.Diagnostics;

/// <summary>
/// The silo meter <c>OrleansShards.Silo</c>: requests the HTTP API refused, by reason (the error code), and gauges
/// measured at each scrape — grain activations and the process's open file descriptors — so a fresh silo's
/// <c>/metrics</c> has series before its first request. One meter per process, like <c>ShardMetrics</c>.
/// </summary>
internal sealed class SiloMetrics : IDisposable
{
    public const string MeterName = "OrleansShards.Silo";

    private const string DescriptorDirectory = "/proc/self/fd";

    private static readonly Meter Meter = new(MeterName);
    private static readonly ConcurrentDictionary<SiloMetrics, bool> Live = new();
    private static readonly Counter<long> Rejections = Meter.CreateCounter<long>("orleansshards.http.rejections",
        description: "HTTP API requests answered with an error, by reason (the error code)");

    private readonly IServiceProvider _services;

    static SiloMetrics()
    {
        Meter.CreateObservableGauge("orleansshards.silo.activations", static () => Live.Keys.Sum(m => m.Activations),
            description: "Grain activations");
        if (Directory.Exists(DescriptorDirectory))
        {
            Meter.CreateObservableGauge("orleansshards.process.open_descriptors", OpenDescriptors,
                description: "File descriptors the process holds open (SQLite files, sockets)");
        }
    }

    public SiloMetrics(IServiceProvider services)
    {
        _services = services;
        Live[this] = true;
    }

    private int Activations => _services.GetService(typeof(IActivationWorkingSet)) is IActivationWorkingSet set ? set.Count : 0;

    /// <summary>Counts one refused request; <paramref name="code"/> is bounded (the error codes).</summary>
    public void Rejected(ShardErrorCode code) =>
        Rejections.Add(1, new KeyValuePair<string, object?>("reason", code.ToWire()));

    public void Dispose() => Live.TryRemove(this, out _);

    private static int OpenDescriptors()
    {
        try
        {
            return Directory.EnumerateFileSystemEntries(DescriptorDirectory).Count();
        }
        catch (IOException)
        {
            return 0;
        }
        catch (UnauthorizedAccessException)
        {
            return 0;
        }
    }
}
