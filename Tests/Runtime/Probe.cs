using System.Collections.Concurrent;

namespace OrleansShards.Tests.Runtime;

/// <summary>
/// Shared state between a test and the grains of its silo (registered as a singleton, injected into
/// grain constructors): an event log, named barriers, and counters.
/// </summary>
public sealed class Probe
{
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _barriers = new();
    private readonly ConcurrentDictionary<string, int> _counters = new();

    public ConcurrentQueue<string> Events { get; } = new();

    public void Log(string e) => Events.Enqueue(e);

    public int Count(string e) => Events.Count(x => x == e);

    public bool Has(string e) => Events.Contains(e);

    /// <summary>A named one-shot barrier; the same name always gives the same barrier.</summary>
    public TaskCompletionSource Barrier(string name) =>
        _barriers.GetOrAdd(name, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));

    public void Open(string name) => Barrier(name).TrySetResult();

    public int Increment(string name) => _counters.AddOrUpdate(name, 1, (_, v) => v + 1);

    public int Decrement(string name) => _counters.AddOrUpdate(name, -1, (_, v) => v - 1);

    public int Get(string name) => _counters.GetValueOrDefault(name);

    /// <summary>Raises counter <paramref name="name"/> to at least <paramref name="value"/>.</summary>
    public void Max(string name, int value) => _counters.AddOrUpdate(name, value, (_, v) => Math.Max(v, value));

    /// <summary>How many activations of a grain should still fail in OnActivateAsync.</summary>
    public int FailActivations;

    public CancellationToken LastToken { get; set; }
}
