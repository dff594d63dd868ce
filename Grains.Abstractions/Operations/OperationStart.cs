using Orleans;

namespace OrleansShards;

/// <summary>What an operation is, when it starts.</summary>
/// <param name="Kind">One of <see cref="OperationKinds"/>.</param>
/// <param name="Tenant">The tenant it works for, or null for an operator's operation (a silo drain); only that tenant may read it.</param>
/// <param name="Target">What it works on, e.g. the table's <c>tenant:table</c>, or a silo name.</param>
/// <param name="Total">The amount of work when known (rows, steps), else 0.</param>
[GenerateSerializer, Immutable, Alias("orleansshards.OperationStart")]
public sealed record OperationStart([Id(0)] string Kind, [Id(1)] string? Tenant, [Id(2)] string Target, [Id(3)] long Total = 0);
