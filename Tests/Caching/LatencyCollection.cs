namespace OrleansShards.Tests.Caching;

/// <summary>
/// Tests that run alone: latency measurements (no other test class shares the cores while they time anything) and the
/// whole sqllogictest corpus (the heaviest test, which would otherwise starve the timing-sensitive ones).
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class LatencyCollection
{
    public const string Name = "latency";
}
