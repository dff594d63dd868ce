using OrleansShards.Runtime;

namespace OrleansShards.Tests.Runtime.Grains;

public interface IFailingGrain : IGrainWithStringKey
{
    Task<string> Ping();
}

/// <summary>Fails OnActivateAsync while <see cref="Probe.FailActivations"/> is positive.</summary>
public sealed class FailingGrain(Probe probe) : Grain, IFailingGrain
{
    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        probe.Log("activate-attempt");
        if (Interlocked.Decrement(ref probe.FailActivations) >= 0)
        {
            throw new FormatException("activation broke");
        }

        return Task.CompletedTask;
    }

    public Task<string> Ping() => Task.FromResult("pong:" + GetPrimaryKeyString());
}
