using OrleansShards.Grains.Storage;

namespace OrleansShards.Grains.Writes;

/// <summary>
/// A data-changing transaction about to COMMIT: what an outbox payload provider sees. Statements it
/// runs on <see cref="Connection"/> are part of the same transaction.
/// </summary>
internal sealed record CommitContext(ShardConnection Connection, long Sequence, long AtUnixMs, byte[]? Changeset, string? Ddl);
