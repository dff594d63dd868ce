using OrleansShards.Grains.Storage;
using OrleansShards.Grains.Storage.Native;

namespace OrleansShards.Grains.Writes;

/// <summary>
/// Captures each writer transaction's changes with a SQLite session (one session per transaction),
/// giving <see cref="CommittedGroup.Changeset"/> and the outbox the exact rows changed.
/// </summary>
internal sealed class SessionChangeCapture : IChangeCapture
{
    public static SessionChangeCapture Instance { get; } = new();

    public IChangeCaptureScope Begin(ShardConnection writer) => new Scope(SqliteSession.Create(writer.Connection));

    private sealed class Scope(SqliteSession session) : IChangeCaptureScope
    {
        public byte[]? TakeChangeset()
        {
            var changeset = session.GetChangeset();
            return changeset.Length == 0 ? null : changeset;
        }

        public void Dispose() => session.Dispose();
    }
}
