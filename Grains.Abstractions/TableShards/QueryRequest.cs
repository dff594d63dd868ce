namespace OrleansShards;

/// <summary>A read: exactly one statement. Statements that write are refused with <c>INVALID_ARGUMENT</c>.</summary>
/// <param name="Query">One SQL statement with <c>?</c> parameters.</param>
/// <param name="Params">Parameter values.</param>
/// <param name="Consistency">Freshness wanted; default is the table's default (normally <see cref="OrleansShards.Consistency.Strong"/>).</param>
/// <param name="MaxStalenessMs">For <see cref="OrleansShards.Consistency.Bounded"/>: the oldest acceptable cache entry.</param>
/// <param name="MinBookmark">Read-your-writes: no answer older than this bookmark is used.</param>
/// <param name="ShardKey">For a sharded table: the shard key's value; without it a read fans out.</param>
public sealed record QueryRequest(
    string Query,
    IReadOnlyList<SqlValue>? Params = null,
    Consistency? Consistency = null,
    long? MaxStalenessMs = null,
    string? MinBookmark = null,
    SqlValue? ShardKey = null);
