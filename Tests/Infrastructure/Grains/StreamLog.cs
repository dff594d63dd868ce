using System.Collections.Concurrent;
using System.Diagnostics;

namespace OrleansShards.Tests.Infrastructure.Grains;

/// <summary>What <see cref="ProbeStreamGrain"/> received, per grain key (tests run in the silo's process).</summary>
public sealed class StreamLog
{
    private static readonly ConcurrentDictionary<string, StreamLog> Logs = new();
    private readonly object _gate = new();
    private readonly List<int> _delivered = [];
    private readonly List<int> _attempts = [];
    private readonly List<double> _latenciesMs = [];

    public static StreamLog For(string key) => Logs.GetOrAdd(key, static _ => new StreamLog());

    /// <summary>Sequences handled successfully, in handling order.</summary>
    public List<int> Delivered
    {
        get
        {
            lock (_gate)
            {
                return [.. _delivered];
            }
        }
    }

    /// <summary>Every delivery attempt, failed ones included.</summary>
    public List<int> Attempts
    {
        get
        {
            lock (_gate)
            {
                return [.. _attempts];
            }
        }
    }

    public List<double> LatenciesMs
    {
        get
        {
            lock (_gate)
            {
                return [.. _latenciesMs];
            }
        }
    }

    public int DeliveredCount
    {
        get
        {
            lock (_gate)
            {
                return _delivered.Count;
            }
        }
    }

    /// <summary>Records an attempt; throws when the item asks for more failures than it has had.</summary>
    public void Handle(ProbeEvent item)
    {
        var now = Stopwatch.GetTimestamp();
        lock (_gate)
        {
            _attempts.Add(item.Sequence);
            if (_attempts.Count(s => s == item.Sequence) <= item.FailTimes)
            {
                throw new InvalidOperationException($"Planned failure of item {item.Sequence}.");
            }

            _delivered.Add(item.Sequence);
            _latenciesMs.Add(Stopwatch.GetElapsedTime(item.PublishedTimestamp, now).TotalMilliseconds);
        }
    }
}
