using Microsoft.Data.Sqlite;
using OrleansShards.Grains.Storage;
using OrleansShards.Grains.Storage.Native;
using OrleansShards.Grains.Writes;

namespace OrleansShards.Grains.Pitr;

/// <summary>
/// Captures each writer transaction's changes with SQLite's session extension (every non-internal
/// table, rowid tables included). The writer stores the changeset in <c>_changes</c> inside the same
/// transaction, so a commit and its log entry cannot part.
/// </summary>
internal sealed class SessionChangeCapture : IChangeCapture
{
    public static SessionChangeCapture Instance { get; } = new();

    public IChangeCaptureScope Begin(ShardConnection writer, bool schemaChange)
    {
        try
        {
            return new Scope(SqliteSession.Create(writer.Connection, writer.Authorizer));
        }
        catch (SqliteException ex)
        {
            throw new ShardException(ShardErrorCode.Internal, "Could not start change capture: " + ex.Message, ex);
        }
    }

    private sealed class Scope(SqliteSession session) : IChangeCaptureScope
    {
        /// <summary>The changeset; an empty array when the statements left no net change.</summary>
        public byte[]? TakeChangeset()
        {
            try
            {
                return session.GetChangeset();
            }
            catch (SqliteException ex)
            {
                // A ShardException makes the writer roll the transaction back and fail its works.
                throw new ShardException(ShardErrorCode.Internal, "Could not capture the changeset: " + ex.Message, ex);
            }
        }

        public void Dispose() => session.Dispose();
    }
}
