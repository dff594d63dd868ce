using Orleans;

namespace OrleansShards;

/// <summary>Rows of the shard's table by primary key or by an indexed column's value.</summary>
/// <param name="PrimaryKey">The primary key value (for <c>GET rows/{pk}</c>); null to look up by column.</param>
/// <param name="Column">An indexed column (for <c>GET rows?col=val</c>).</param>
/// <param name="Value">The column's value.</param>
/// <param name="Consistency">Freshness wanted.</param>
/// <param name="MaxStalenessMs">For bounded reads.</param>
/// <param name="MinBookmark">Read-your-writes.</param>
[GenerateSerializer, Immutable, Alias("orleansshards.RowLookupRequest")]
public sealed record RowLookupRequest(
    [Id(0)] SqlValue? PrimaryKey = null,
    [Id(1)] string? Column = null,
    [Id(2)] SqlValue? Value = null,
    [Id(3)] Consistency? Consistency = null,
    [Id(4)] long? MaxStalenessMs = null,
    [Id(5)] string? MinBookmark = null);
