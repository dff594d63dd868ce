using Orleans;

namespace OrleansShards;

/// <summary>Schema statements (CREATE/ALTER/DROP TABLE, INDEX, VIEW, TRIGGER); several may be sent at once, applied atomically.</summary>
/// <param name="Query">One or more statements separated by semicolons.</param>
/// <param name="NoGrowth">
/// Set by the HTTP API for a tenant at or over its storage quota whose statement was let through because it frees space
/// (a DELETE or DROP): the write is refused (<c>CAPACITY_EXCEEDED</c>) if it grows the shard after all (a trigger that
/// inserts, for one).
/// </param>
[GenerateSerializer, Immutable, Alias("orleansshards.DdlRequest")]
public sealed record DdlRequest([Id(0)] string Query, [Id(1)] bool NoGrowth = false);
