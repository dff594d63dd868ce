using Orleans;

namespace OrleansShards;

/// <summary>Schema statements (CREATE/ALTER/DROP TABLE, INDEX, VIEW, TRIGGER); several may be sent at once, applied atomically.</summary>
/// <param name="Query">One or more statements separated by semicolons.</param>
[GenerateSerializer, Immutable, Alias("orleansshards.DdlRequest")]
public sealed record DdlRequest([Id(0)] string Query);
