using Orleans;

namespace OrleansShards;

/// <summary>Why an operation failed: the API error code (wire name, e.g. <c>INVALID_ARGUMENT</c>) and its message.</summary>
[GenerateSerializer, Immutable, Alias("orleansshards.OperationError")]
public sealed record OperationError([Id(0)] string Code, [Id(1)] string Message);
