using Orleans;

namespace OrleansShards;

/// <summary>Entries to load into the cache ahead of reads.</summary>
/// <param name="PrimaryKeys">Rows to cache by primary key (<c>t:</c> keys).</param>
/// <param name="Lookups">Indexed-column lookups to cache (<c>idx:</c> keys): (column, value) pairs.</param>
/// <param name="HotKeys">True to re-warm the keys this shard has seen read most often.</param>
[GenerateSerializer, Immutable, Alias("orleansshards.WarmRequest")]
public sealed record WarmRequest(
    [Id(0)] IReadOnlyList<SqlValue>? PrimaryKeys = null,
    [Id(1)] IReadOnlyList<ColumnLookup>? Lookups = null,
    [Id(2)] bool HotKeys = false);
