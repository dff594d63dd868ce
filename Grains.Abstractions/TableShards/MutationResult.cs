using Orleans;

namespace OrleansShards;

/// <summary>The outcome of a write.</summary>
/// <param name="Changes">Rows changed.</param>
/// <param name="LastInsertRowId">The rowid of the last inserted row.</param>
/// <param name="Bookmark">The bookmark of the commit that made the write durable; null when queued.</param>
/// <param name="Queued">True when the statement was queued in a transaction and not yet applied.</param>
[GenerateSerializer, Immutable, Alias("orleansshards.MutationResult")]
public sealed record MutationResult([Id(0)] long Changes, [Id(1)] long LastInsertRowId, [Id(2)] string? Bookmark, [Id(3)] bool Queued = false);
