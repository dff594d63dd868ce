namespace OrleansShards.Tests.Infrastructure.Grains;

/// <summary>A stream item: its position in the test's publish order, when it was published, and how often its delivery must fail first.</summary>
[GenerateSerializer, Immutable]
public sealed record ProbeEvent(
    [property: Id(0)] int Sequence,
    [property: Id(1)] long PublishedTimestamp,
    [property: Id(2)] int FailTimes = 0);
