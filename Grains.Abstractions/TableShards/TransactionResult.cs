using Orleans;

namespace OrleansShards;

/// <summary>The answer to a transaction call.</summary>
/// <param name="TransactionId">The transaction's id.</param>
/// <param name="ExpiresAtUnixMs">For BEGIN: when the transaction expires unless committed.</param>
/// <param name="Results">For COMMIT: one result per queued statement.</param>
/// <param name="Bookmark">For COMMIT: the bookmark of the commit.</param>
/// <param name="RolledBack">For ROLLBACK: true.</param>
[GenerateSerializer, Immutable, Alias("orleansshards.TransactionResult")]
public sealed record TransactionResult(
    [Id(0)] string TransactionId,
    [Id(1)] long? ExpiresAtUnixMs = null,
    [Id(2)] IReadOnlyList<StatementResult>? Results = null,
    [Id(3)] string? Bookmark = null,
    [Id(4)] bool RolledBack = false);
