using OrleansShards.Runtime;

namespace OrleansShards.Tests.Runtime.Grains;

public interface IReadWriteGrain : IGrainWithStringKey
{
    /// <summary>Read-only turn that returns only once <paramref name="count"/> readers are inside together.</summary>
    [ReadOnly]
    Task<int> ReadTogether(int count);

    /// <summary>Read-only turn that logs start/end and holds until barrier <paramref name="name"/> opens.</summary>
    [ReadOnly]
    Task Read(string name);

    /// <summary>Writing turn that logs start/end and holds until barrier <paramref name="name"/> opens.</summary>
    Task Write(string name);

    Task Touch();
}

/// <summary>
/// Tracks turns inside the activation: "readers", "writers", and the most turns seen inside while a
/// writer was inside ("max-beside-writer", must stay 1).
/// </summary>
public sealed class ReadWriteGrain(Probe probe) : Grain, IReadWriteGrain
{
    private int _readers;
    private int _writers;

    public async Task<int> ReadTogether(int count)
    {
        var inside = Interlocked.Increment(ref _readers);
        probe.Max("max-readers", inside);
        if (probe.Increment("together") == count)
        {
            probe.Open("all-inside");
        }

        await probe.Barrier("all-inside").Task;
        Interlocked.Decrement(ref _readers);
        return inside;
    }

    public async Task Read(string name)
    {
        Interlocked.Increment(ref _readers);
        Check();
        probe.Log("start:" + name);
        probe.Open("started:" + name);
        await probe.Barrier(name).Task;
        Check();
        probe.Log("end:" + name);
        Interlocked.Decrement(ref _readers);
    }

    public async Task Write(string name)
    {
        Interlocked.Increment(ref _writers);
        Check();
        probe.Log("start:" + name);
        probe.Open("started:" + name);
        await probe.Barrier(name).Task;
        Check();
        probe.Log("end:" + name);
        Interlocked.Decrement(ref _writers);
    }

    public Task Touch() => Task.CompletedTask;

    private void Check()
    {
        var writers = Volatile.Read(ref _writers);
        if (writers > 0)
        {
            probe.Max("max-beside-writer", writers + Volatile.Read(ref _readers));
        }
    }
}
