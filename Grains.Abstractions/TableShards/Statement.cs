using Orleans;

namespace OrleansShards;

/// <summary>One SQL statement with positional <c>?</c> parameters.</summary>
/// <param name="Query">Exactly one SQL statement.</param>
/// <param name="Params">Values bound to the <c>?</c> parameters in order.</param>
[GenerateSerializer, Immutable, Alias("orleansshards.Statement")]
public sealed record Statement([Id(0)] string Query, [Id(1)] IReadOnlyList<SqlValue>? Params = null);
