namespace OrleansShards.Tests.Caching;

/// <summary>Latency measurements run alone: no other test class shares the cores while they time anything.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class LatencyCollection
{
    public const string Name = "latency";
}
