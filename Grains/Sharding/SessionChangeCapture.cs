using OrleansShards.Grains.Storage;
using OrleansShards.Grains.Storage.Native;
using OrleansShards.Grains.Writes;

namespace OrleansShards.Grains.Sharding;

/// <summary>
/// Captures each writer transaction's changeset with a SQLite session, for the change log. Installed by a table
/// shard only when no other capture is configured (the change-log feature installs its own): online resharding
/// replays the log's tail and needs every commit's changeset.
/// </summary>
internal sealed class SessionChangeCapture : IChangeCapture
{
    public static SessionChangeCapture Instance { get; } = new();

    public IChangeCaptureScope Begin(ShardConnection writer) => new Scope(SqliteSession.Create(writer.Connection));

    private sealed class Scope(SqliteSession session) : IChangeCaptureScope
    {
        public byte[]? TakeChangeset() => session.IsEmpty ? null : session.GetChangeset();

        public void Dispose() => session.Dispose();
    }
}
