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
            return new Scope(SqliteSession.Create(writer.Connection, writer.Authorizer), schemaChange);
        }
        catch (SqliteException ex)
        {
            throw new ShardException(ShardErrorCode.Internal, "Could not start change capture: " + ex.Message, ex);
        }
    }

    private sealed class Scope(SqliteSession session, bool schemaChange) : IChangeCaptureScope
    {
        /// <summary>True once the DDL work of a schema change was rolled back (it failed, or was a dry run).</summary>
        private bool _schemaRolledBack;

        /// <summary>
        /// A schema change runs alone in its transaction: once its work is rolled back, nothing of it remains. The session
        /// cannot forget what it recorded, and may have recorded rows of tables the rollback removed (a virtual table's
        /// shadow tables, which its CREATE fills): asked for a changeset it would fail on them ("database schema has
        /// changed"), so it is not asked.
        /// </summary>
        public void WorkRolledBack() => _schemaRolledBack |= schemaChange;

        /// <summary>The changeset; an empty array when the statements left no net change.</summary>
        public byte[]? TakeChangeset()
        {
            if (_schemaRolledBack)
            {
                return [];
            }

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
