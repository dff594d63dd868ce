using Orleans;

namespace OrleansShards;

/// <summary>
/// The record of a long operation, as <c>GET /v1/operations/{id}</c> answers it while it runs and after.
/// </summary>
/// <param name="Id">The operation id (the starting call's answer names it as <c>operationId</c>).</param>
/// <param name="Kind">One of <see cref="OperationKinds"/>.</param>
/// <param name="Target">What it works on (<c>tenant:table</c>, a silo name).</param>
/// <param name="State"><see cref="OperationStates.Running"/>, <see cref="OperationStates.Completed"/> or <see cref="OperationStates.Failed"/>.</param>
/// <param name="Phase">The phase now, or the last one reached (<c>done</c> once completed).</param>
/// <param name="Done">Units done (rows copied, steps).</param>
/// <param name="Total">Units in all; 0 while unknown.</param>
/// <param name="StartedAt">When it started (UTC).</param>
/// <param name="EndedAt">When it ended, while running null.</param>
/// <param name="Error">Why it failed; null unless failed.</param>
/// <param name="Tenant">The tenant it works for; null for an operator's operation.</param>
[GenerateSerializer, Immutable, Alias("orleansshards.OperationInfo")]
public sealed record OperationInfo(
    [Id(0)] string Id,
    [Id(1)] string Kind,
    [Id(2)] string Target,
    [Id(3)] string State,
    [Id(4)] string Phase,
    [Id(5)] long Done,
    [Id(6)] long Total,
    [Id(7)] DateTimeOffset StartedAt,
    [Id(8)] DateTimeOffset? EndedAt = null,
    [Id(9)] OperationError? Error = null,
    [Id(10)] string? Tenant = null);
