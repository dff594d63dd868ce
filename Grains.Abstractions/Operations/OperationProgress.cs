using Orleans;

namespace OrleansShards;

/// <summary>A progress report of a running operation.</summary>
/// <param name="Phase">The phase now (e.g. <c>copy</c>, <c>catchup</c>, <c>switch</c>, <c>replay</c>).</param>
/// <param name="Done">Units done in this operation (rows copied, steps).</param>
/// <param name="Total">Units in all, when known; 0 when not.</param>
[GenerateSerializer, Immutable, Alias("orleansshards.OperationProgress")]
public sealed record OperationProgress([Id(0)] string Phase, [Id(1)] long Done, [Id(2)] long Total);
