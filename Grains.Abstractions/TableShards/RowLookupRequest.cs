namespace OrleansShards;

/// <summary>Rows of the shard's table by primary key or by an indexed column's value.</summary>
/// <param name="PrimaryKey">The primary key value (for <c>GET rows/{pk}</c>); null to look up by column.</param>
/// <param name="Column">An indexed column (for <c>GET rows?col=val</c>).</param>
/// <param name="Value">The column's value.</param>
/// <param name="Consistency">Freshness wanted.</param>
/// <param name="MaxStalenessMs">For bounded reads.</param>
/// <param name="MinBookmark">Read-your-writes.</param>
public sealed record RowLookupRequest(
    SqlValue? PrimaryKey = null,
    string? Column = null,
    SqlValue? Value = null,
    Consistency? Consistency = null,
    long? MaxStalenessMs = null,
    string? MinBookmark = null);
