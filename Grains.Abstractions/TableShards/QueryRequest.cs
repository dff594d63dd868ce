using Orleans;

namespace OrleansShards;

/// <summary>A read: exactly one statement. Statements that write are refused with <c>INVALID_ARGUMENT</c>.</summary>
/// <param name="Query">One SQL statement with <c>?</c> parameters.</param>
/// <param name="Params">Parameter values.</param>
/// <param name="Consistency">Freshness wanted; default is the table's default (normally <see cref="OrleansShards.Consistency.Strong"/>).</param>
/// <param name="MaxStalenessMs">For <see cref="OrleansShards.Consistency.Bounded"/>: the oldest acceptable cache entry.</param>
/// <param name="MinBookmark">Read-your-writes: no answer older than this bookmark is used.</param>
/// <param name="ShardKey">For a sharded table: the shard key's value; without it a read fans out.</param>
[GenerateSerializer, Immutable, Alias("orleansshards.QueryRequest")]
public sealed record QueryRequest(
    [Id(0)] string Query,
    [Id(1)] IReadOnlyList<SqlValue>? Params = null,
    [Id(2)] Consistency? Consistency = null,
    [Id(3)] long? MaxStalenessMs = null,
    [Id(4)] string? MinBookmark = null,
    [Id(5)] SqlValue? ShardKey = null);
