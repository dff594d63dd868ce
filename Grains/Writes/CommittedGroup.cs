namespace OrleansShards.Grains.Writes;

/// <summary>A committed transaction of the writer: its sequence, time, changeset (when captured) and DDL.</summary>
internal sealed record CommittedGroup(long Sequence, long AtUnixMs, byte[]? Changeset, string? Ddl);
