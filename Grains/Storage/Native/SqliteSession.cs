using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace OrleansShards.Grains.Storage.Native;

/// <summary>
/// A SQLite session (session extension) recording every change to the "main" database of one
/// connection, for all tables except internal ones (name starting with <c>_</c>). Tables without
/// a declared PRIMARY KEY are captured too, keyed by their rowid
/// (<c>SQLITE_SESSION_OBJCONFIG_ROWID</c>).
/// </summary>
/// <remarks>
/// Usage per write transaction: create → BEGIN → run statements → <see cref="GetChangeset"/> →
/// write the changeset into an internal table (not recorded, it starts with <c>_</c>) → COMMIT →
/// dispose. A session only records changes made after it was created and is never reset, so
/// create one per transaction. Dispose it before the connection is closed; the native session
/// must not outlive its database handle. Not thread-safe, like the connection itself.
/// </remarks>
internal sealed unsafe class SqliteSession : IDisposable
{
    private readonly sqlite3 _db;
    private readonly SqliteAuthorizer? _authorizer;
    private nint _session;

    private SqliteSession(sqlite3 db, nint session, SqliteAuthorizer? authorizer)
    {
        _db = db;
        _session = session;
        _authorizer = authorizer;
    }

    /// <summary>True when no change has been recorded (changes that cancel out may still count).</summary>
    public bool IsEmpty => SqliteNative.sqlite3session_isempty(Session) != 0;

    /// <summary>Starts recording changes to every non-internal table of the "main" database.</summary>
    /// <param name="connection">An open connection.</param>
    /// <param name="authorizer">
    /// The connection's authorizer, if any: <see cref="GetChangeset"/> runs SQLite's own
    /// <c>SAVEPOINT changeset</c> and reads, which a tenant policy would deny, so it is suspended
    /// around that call.
    /// </param>
    /// <exception cref="InvalidOperationException">The connection is not open.</exception>
    /// <exception cref="SqliteException">SQLite refused to create or configure the session.</exception>
    public static SqliteSession Create(SqliteConnection connection, SqliteAuthorizer? authorizer = null)
    {
        var db = SqliteNative.GetHandle(connection);
        nint session;
        fixed (byte* main = "main\0"u8)
        {
            SqliteNative.Check(SqliteNative.sqlite3session_create(db.DangerousGetHandle(), main, &session), "sqlite3session_create", db);
        }

        try
        {
            var enableRowid = 1;
            SqliteNative.Check(
                SqliteNative.sqlite3session_object_config(session, SqliteNative.SQLITE_SESSION_OBJCONFIG_ROWID, &enableRowid),
                "sqlite3session_object_config(ROWID)");
            SqliteNative.sqlite3session_table_filter(session, &IncludeTable, 0);
            SqliteNative.Check(SqliteNative.sqlite3session_attach(session, null), "sqlite3session_attach");
        }
        catch
        {
            SqliteNative.sqlite3session_delete(session);
            throw;
        }

        return new SqliteSession(db, session, authorizer);
    }

    /// <summary>
    /// The changes recorded so far as a changeset (empty array when there are none). The native
    /// buffer is copied and freed before this returns.
    /// </summary>
    /// <exception cref="SqliteException">SQLite could not produce the changeset.</exception>
    public byte[] GetChangeset()
    {
        int size;
        nint buffer;
        int rc;
        using (_authorizer is null ? default : _authorizer.Suspend())
        {
            rc = SqliteNative.sqlite3session_changeset(Session, &size, &buffer);
        }

        if (rc != SqliteNative.SQLITE_OK)
        {
            if (buffer != 0)
            {
                raw.sqlite3_free(buffer);
            }

            SqliteNative.ThrowError(rc, "sqlite3session_changeset", _db);
        }

        return SqliteNative.CopyAndFree(buffer, size);
    }

    /// <summary>
    /// Deletes the native session. Idempotent. When the database handle was already closed the
    /// session is leaked rather than deleted: deleting it would touch the freed database.
    /// </summary>
    public void Dispose()
    {
        var session = _session;
        _session = 0;
        if (session == 0)
        {
            return;
        }

        var added = false;
        try
        {
            _db.DangerousAddRef(ref added);
            SqliteNative.sqlite3session_delete(session);
        }
        catch (ObjectDisposedException)
        {
            // The connection's handle is closed; deleting now would touch freed memory.
        }
        finally
        {
            if (added)
            {
                _db.DangerousRelease();
            }
        }
    }

    private nint Session => _session != 0 ? _session : throw new ObjectDisposedException(nameof(SqliteSession));

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int IncludeTable(nint context, byte* table) => table is null || table[0] == (byte)'_' ? 0 : 1;
}
