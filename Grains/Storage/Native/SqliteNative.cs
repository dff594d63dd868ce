using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace OrleansShards.Grains.Storage.Native;

/// <summary>
/// Direct entry points into the bundled <c>e_sqlite3</c> library for what SQLitePCLRaw does not
/// wrap (the session extension, changesets, raw value access, hooks installed with function
/// pointers), plus the result codes and helpers the native layer shares. The library is the same
/// one SQLitePCLRaw loaded for Microsoft.Data.Sqlite, so the <c>sqlite3*</c> of a
/// <see cref="SqliteConnection"/> may be passed to these functions.
/// </summary>
internal static unsafe partial class SqliteNative
{
    private const string Library = "e_sqlite3";

    internal const int SQLITE_OK = 0;
    internal const int SQLITE_ERROR = 1;
    internal const int SQLITE_NOMEM = 7;
    internal const int SQLITE_ROW = 100;
    internal const int SQLITE_DONE = 101;

    internal const int SQLITE_INTEGER = 1;
    internal const int SQLITE_FLOAT = 2;
    internal const int SQLITE_TEXT = 3;
    internal const int SQLITE_BLOB = 4;
    internal const int SQLITE_NULL = 5;

    internal const int SQLITE_SESSION_OBJCONFIG_ROWID = 2;

    // ---- connection ----------------------------------------------------------------------

    [LibraryImport(Library)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    internal static partial void sqlite3_set_last_insert_rowid(nint db, long rowid);

    // ---- session -------------------------------------------------------------------------

    [LibraryImport(Library)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    internal static partial int sqlite3session_create(nint db, byte* zDb, nint* ppSession);

    [LibraryImport(Library)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    internal static partial void sqlite3session_delete(nint session);

    [LibraryImport(Library)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    internal static partial int sqlite3session_attach(nint session, byte* zTab);

    [LibraryImport(Library)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    internal static partial void sqlite3session_table_filter(
        nint session, delegate* unmanaged[Cdecl]<nint, byte*, int> xFilter, nint pCtx);

    [LibraryImport(Library)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    internal static partial int sqlite3session_object_config(nint session, int op, int* pArg);

    [LibraryImport(Library)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    internal static partial int sqlite3session_isempty(nint session);

    [LibraryImport(Library)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    internal static partial int sqlite3session_changeset(nint session, int* pnChangeset, nint* ppChangeset);

    // ---- changesets ----------------------------------------------------------------------

    [LibraryImport(Library)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    internal static partial int sqlite3changeset_start(nint* ppIter, int nChangeset, byte* pChangeset);

    [LibraryImport(Library)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    internal static partial int sqlite3changeset_next(nint iter);

    [LibraryImport(Library)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    internal static partial int sqlite3changeset_op(nint iter, byte** pzTab, int* pnCol, int* pOp, int* pbIndirect);

    [LibraryImport(Library)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    internal static partial int sqlite3changeset_pk(nint iter, byte** pabPK, int* pnCol);

    [LibraryImport(Library)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    internal static partial int sqlite3changeset_old(nint iter, int iVal, nint* ppValue);

    [LibraryImport(Library)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    internal static partial int sqlite3changeset_new(nint iter, int iVal, nint* ppValue);

    [LibraryImport(Library)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    internal static partial int sqlite3changeset_fk_conflicts(nint iter, int* pnOut);

    [LibraryImport(Library)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    internal static partial int sqlite3changeset_finalize(nint iter);

    [LibraryImport(Library)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    internal static partial int sqlite3changeset_invert(int nIn, byte* pIn, int* pnOut, nint* ppOut);

    [LibraryImport(Library)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    internal static partial int sqlite3changeset_concat(int nA, byte* pA, int nB, byte* pB, int* pnOut, nint* ppOut);

    [LibraryImport(Library)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    internal static partial int sqlite3changeset_apply_v2(
        nint db,
        int nChangeset,
        byte* pChangeset,
        delegate* unmanaged[Cdecl]<nint, byte*, int> xFilter,
        delegate* unmanaged[Cdecl]<nint, int, nint, int> xConflict,
        nint pCtx,
        nint* ppRebase,
        int* pnRebase,
        int flags);

    // ---- values --------------------------------------------------------------------------

    [LibraryImport(Library)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    internal static partial int sqlite3_value_type(nint value);

    [LibraryImport(Library)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    internal static partial long sqlite3_value_int64(nint value);

    [LibraryImport(Library)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    internal static partial double sqlite3_value_double(nint value);

    [LibraryImport(Library)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    internal static partial byte* sqlite3_value_text(nint value);

    [LibraryImport(Library)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    internal static partial byte* sqlite3_value_blob(nint value);

    [LibraryImport(Library)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    internal static partial int sqlite3_value_bytes(nint value);

    // ---- hooks ---------------------------------------------------------------------------

    [LibraryImport(Library)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    internal static partial int sqlite3_set_authorizer(
        nint db, delegate* unmanaged[Cdecl]<nint, int, byte*, byte*, byte*, byte*, int> xAuth, nint pUserData);

    [LibraryImport(Library)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    internal static partial void sqlite3_progress_handler(
        nint db, int nOps, delegate* unmanaged[Cdecl]<nint, int> xProgress, nint pArg);

    [LibraryImport(Library)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    internal static partial nint sqlite3_preupdate_hook(
        nint db, delegate* unmanaged[Cdecl]<nint, nint, int, byte*, byte*, long, long, void> xPreUpdate, nint pCtx);

    [LibraryImport(Library)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    internal static partial int sqlite3_preupdate_old(nint db, int i, nint* ppValue);

    [LibraryImport(Library)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    internal static partial int sqlite3_preupdate_new(nint db, int i, nint* ppValue);

    [LibraryImport(Library)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    internal static partial int sqlite3_preupdate_count(nint db);

    [LibraryImport(Library)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    internal static partial int sqlite3_preupdate_depth(nint db);

    internal const int SQLITE_DELETE = 9;
    internal const int SQLITE_INSERT = 18;
    internal const int SQLITE_UPDATE = 23;

    // ---- helpers -------------------------------------------------------------------------

    /// <summary>The open native handle of <paramref name="connection"/>.</summary>
    /// <exception cref="InvalidOperationException">The connection is not open.</exception>
    internal static sqlite3 GetHandle(SqliteConnection connection)
    {
        ArgumentNullException.ThrowIfNull(connection);
        var handle = connection.Handle;
        if (handle is null || handle.IsInvalid || handle.IsClosed)
        {
            throw new InvalidOperationException("The SQLite connection must be open.");
        }

        return handle;
    }

    /// <summary>Copies an <c>sqlite3_malloc</c>ed buffer into a managed array and frees it.</summary>
    internal static byte[] CopyAndFree(nint buffer, int length)
    {
        try
        {
            return buffer == 0 || length <= 0 ? [] : new ReadOnlySpan<byte>((void*)buffer, length).ToArray();
        }
        finally
        {
            if (buffer != 0)
            {
                raw.sqlite3_free(buffer);
            }
        }
    }

    /// <summary>Throws a <see cref="SqliteException"/> when <paramref name="rc"/> is not SQLITE_OK.</summary>
    internal static void Check(int rc, string operation, sqlite3? db = null)
    {
        if (rc != SQLITE_OK)
        {
            ThrowError(rc, operation, db);
        }
    }

    /// <summary>Throws a <see cref="SqliteException"/> carrying SQLite's message for <paramref name="rc"/>.</summary>
    [DoesNotReturn]
    [MethodImpl(MethodImplOptions.NoInlining)]
    internal static void ThrowError(int rc, string operation, sqlite3? db = null)
    {
        var extended = rc;
        string message;
        if (db is not null && !db.IsClosed && !db.IsInvalid && raw.sqlite3_errcode(db) == (rc & 0xFF))
        {
            extended = raw.sqlite3_extended_errcode(db);
            message = raw.sqlite3_errmsg(db).utf8_to_string();
        }
        else
        {
            message = raw.sqlite3_errstr(rc).utf8_to_string();
        }

        throw new SqliteException($"SQLite Error {rc}: {operation} failed: '{message}'.", rc & 0xFF, extended);
    }
}
