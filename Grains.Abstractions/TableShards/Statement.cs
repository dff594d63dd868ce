namespace OrleansShards;

/// <summary>One SQL statement with positional <c>?</c> parameters.</summary>
/// <param name="Query">Exactly one SQL statement.</param>
/// <param name="Params">Values bound to the <c>?</c> parameters in order.</param>
public sealed record Statement(string Query, IReadOnlyList<SqlValue>? Params = null);
