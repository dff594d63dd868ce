using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Data.Sqlite;

namespace OrleansShards.Grains.Storage.Native;

/// <summary>
/// Reads, applies, inverts and concatenates changesets produced by <see cref="SqliteSession"/>.
/// Every native iterator is finalized and every SQLite-allocated buffer freed before a method
/// returns, on success and on failure; results are managed copies.
/// </summary>
internal static unsafe class Changeset
{
    private const int SQLITE_CHANGESET_DATA = 1;
    private const int SQLITE_CHANGESET_NOTFOUND = 2;
    private const int SQLITE_CHANGESET_CONFLICT = 3;
    private const int SQLITE_CHANGESET_CONSTRAINT = 4;
    private const int SQLITE_CHANGESET_FOREIGN_KEY = 5;
    private const int SQLITE_ABORT = 4;

    /// <summary>Decodes every change of <paramref name="changeset"/>, in changeset order.</summary>
    /// <exception cref="SqliteException">The changeset is malformed (SQLITE_CORRUPT) or SQLite failed.</exception>
    public static IReadOnlyList<ChangeRecord> Read(ReadOnlySpan<byte> changeset)
    {
        var records = new List<ChangeRecord>();
        fixed (byte* data = changeset)
        {
            nint iter;
            SqliteNative.Check(SqliteNative.sqlite3changeset_start(&iter, changeset.Length, data), "sqlite3changeset_start");
            try
            {
                var lastTable = (Utf8: Array.Empty<byte>(), Name: string.Empty);
                int rc;
                while ((rc = SqliteNative.sqlite3changeset_next(iter)) == SqliteNative.SQLITE_ROW)
                {
                    records.Add(ReadCurrent(iter, ref lastTable));
                }

                if (rc != SqliteNative.SQLITE_DONE)
                {
                    SqliteNative.ThrowError(rc, "sqlite3changeset_next");
                }
            }
            finally
            {
                // finalize's result repeats an error already raised by next; nothing to add.
                _ = SqliteNative.sqlite3changeset_finalize(iter);
            }
        }

        return records;
    }

    /// <summary>
    /// Applies <paramref name="changeset"/> to the "main" database of <paramref name="connection"/>
    /// atomically (SQLite wraps it in a savepoint, so it may run inside the caller's transaction),
    /// resolving conflicts by <paramref name="policy"/>.
    /// </summary>
    /// <returns>How many conflicts of each kind were met and resolved.</returns>
    /// <exception cref="SqliteException">
    /// A conflict resolved by ABORT (SQLITE_ABORT; nothing of this changeset remains applied), or
    /// another SQLite failure.
    /// </exception>
    public static ChangesetApplyResult Apply(SqliteConnection connection, ReadOnlySpan<byte> changeset, ChangesetConflictPolicy policy)
    {
        ArgumentNullException.ThrowIfNull(policy);
        var db = SqliteNative.GetHandle(connection);
        var context = new ApplyContext(policy);
        int rc;
        fixed (byte* data = changeset)
        {
            rc = SqliteNative.sqlite3changeset_apply_v2(
                db.DangerousGetHandle(), changeset.Length, data, null, &OnConflict, (nint)(&context), null, null, 0);
        }

        if (rc != SqliteNative.SQLITE_OK)
        {
            var operation = rc == SQLITE_ABORT && context.AbortedOn != 0
                ? $"sqlite3changeset_apply ({KindName(context.AbortedOn)} conflict, resolved by ABORT)"
                : "sqlite3changeset_apply";
            SqliteNative.ThrowError(rc, operation, db);
        }

        return new ChangesetApplyResult(context.Data, context.NotFound, context.Conflict, context.Constraint, context.ForeignKey);
    }

    /// <summary>The changeset that undoes <paramref name="changeset"/> (inserts become deletes, and so on).</summary>
    /// <exception cref="SqliteException">The changeset is malformed or SQLite failed.</exception>
    public static byte[] Invert(ReadOnlySpan<byte> changeset)
    {
        int size;
        nint buffer;
        fixed (byte* data = changeset)
        {
            SqliteNative.Check(SqliteNative.sqlite3changeset_invert(changeset.Length, data, &size, &buffer), "sqlite3changeset_invert");
        }

        return SqliteNative.CopyAndFree(buffer, size);
    }

    /// <summary>One changeset equivalent to applying <paramref name="first"/> and then <paramref name="second"/>.</summary>
    /// <exception cref="SqliteException">A changeset is malformed, or they disagree on a table's columns.</exception>
    public static byte[] Concat(ReadOnlySpan<byte> first, ReadOnlySpan<byte> second)
    {
        int size;
        nint buffer;
        fixed (byte* a = first)
        fixed (byte* b = second)
        {
            SqliteNative.Check(SqliteNative.sqlite3changeset_concat(first.Length, a, second.Length, b, &size, &buffer), "sqlite3changeset_concat");
        }

        return SqliteNative.CopyAndFree(buffer, size);
    }

    /// <param name="iter">The iterator, positioned on a change.</param>
    /// <param name="lastTable">
    /// The previous record's table name, reused when the bytes match (a changeset groups changes by
    /// table). Compared by content: SQLite may hand out the same buffer for different tables.
    /// </param>
    private static ChangeRecord ReadCurrent(nint iter, ref (byte[] Utf8, string Name) lastTable)
    {
        byte* table;
        int columnCount, op, indirect;
        SqliteNative.Check(SqliteNative.sqlite3changeset_op(iter, &table, &columnCount, &op, &indirect), "sqlite3changeset_op");
        var tableUtf8 = MemoryMarshal.CreateReadOnlySpanFromNullTerminated(table);
        if (!tableUtf8.SequenceEqual(lastTable.Utf8))
        {
            lastTable = (tableUtf8.ToArray(), Encoding.UTF8.GetString(tableUtf8));
        }

        byte* pk;
        int pkColumns;
        SqliteNative.Check(SqliteNative.sqlite3changeset_pk(iter, &pk, &pkColumns), "sqlite3changeset_pk");
        var primaryKey = new bool[columnCount];
        for (var i = 0; i < columnCount; i++)
        {
            primaryKey[i] = pk[i] != 0;
        }

        var operation = (ChangeOperation)op;
        var oldValues = new SqlValue?[columnCount];
        var newValues = new SqlValue?[columnCount];
        for (var i = 0; i < columnCount; i++)
        {
            nint value;
            if (operation != ChangeOperation.Insert)
            {
                SqliteNative.Check(SqliteNative.sqlite3changeset_old(iter, i, &value), "sqlite3changeset_old");
                oldValues[i] = ToSqlValue(value);
            }

            if (operation != ChangeOperation.Delete)
            {
                SqliteNative.Check(SqliteNative.sqlite3changeset_new(iter, i, &value), "sqlite3changeset_new");
                newValues[i] = ToSqlValue(value);
            }
        }

        return new ChangeRecord(lastTable.Name, operation, columnCount, primaryKey, oldValues, newValues);
    }

    /// <summary>Copies a protected <c>sqlite3_value*</c>; a null pointer means "no value recorded".</summary>
    private static SqlValue? ToSqlValue(nint value)
    {
        if (value == 0)
        {
            return null;
        }

        switch (SqliteNative.sqlite3_value_type(value))
        {
            case SqliteNative.SQLITE_INTEGER:
                return SqlValue.FromInteger(SqliteNative.sqlite3_value_int64(value));
            case SqliteNative.SQLITE_FLOAT:
                return SqlValue.FromReal(SqliteNative.sqlite3_value_double(value));
            case SqliteNative.SQLITE_TEXT:
            {
                // Pointer first, then length: the documented order for a stable result.
                var text = SqliteNative.sqlite3_value_text(value);
                var length = SqliteNative.sqlite3_value_bytes(value);
                return SqlValue.FromText(text is null ? string.Empty : Encoding.UTF8.GetString(text, length));
            }

            case SqliteNative.SQLITE_BLOB:
            {
                var blob = SqliteNative.sqlite3_value_blob(value);
                var length = SqliteNative.sqlite3_value_bytes(value);
                return SqlValue.FromBlob(blob is null || length == 0 ? [] : new ReadOnlySpan<byte>(blob, length).ToArray());
            }

            default:
                return SqlValue.Null;
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int OnConflict(nint pContext, int kind, nint iter)
    {
        var context = (ApplyContext*)pContext;
        ConflictResolution resolution;
        switch (kind)
        {
            case SQLITE_CHANGESET_DATA:
                context->Data++;
                resolution = context->OnData;
                break;
            case SQLITE_CHANGESET_NOTFOUND:
                context->NotFound++;
                resolution = context->OnNotFound;
                break;
            case SQLITE_CHANGESET_CONFLICT:
                context->Conflict++;
                resolution = context->OnConflict;
                break;
            case SQLITE_CHANGESET_CONSTRAINT:
                context->Constraint++;
                resolution = context->OnConstraint;
                break;
            case SQLITE_CHANGESET_FOREIGN_KEY:
                int violations;
                context->ForeignKey += SqliteNative.sqlite3changeset_fk_conflicts(iter, &violations) == SqliteNative.SQLITE_OK ? violations : 1;
                resolution = context->OnForeignKey;
                break;
            default:
                resolution = ConflictResolution.Abort;
                break;
        }

        if (resolution == ConflictResolution.Abort)
        {
            context->AbortedOn = kind;
        }

        return (int)resolution;
    }

    private static string KindName(int kind) => kind switch
    {
        SQLITE_CHANGESET_DATA => "DATA",
        SQLITE_CHANGESET_NOTFOUND => "NOTFOUND",
        SQLITE_CHANGESET_CONFLICT => "CONFLICT",
        SQLITE_CHANGESET_CONSTRAINT => "CONSTRAINT",
        SQLITE_CHANGESET_FOREIGN_KEY => "FOREIGN_KEY",
        _ => "unknown",
    };

    /// <summary>Lives on the caller's stack for the duration of one apply; the conflict callback gets its address.</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct ApplyContext(ChangesetConflictPolicy policy)
    {
        public ConflictResolution OnData = policy.Data;
        public ConflictResolution OnNotFound = policy.NotFound;
        public ConflictResolution OnConflict = policy.Conflict;
        public ConflictResolution OnConstraint = policy.Constraint;
        public ConflictResolution OnForeignKey = policy.ForeignKey;
        public int Data;
        public int NotFound;
        public int Conflict;
        public int Constraint;
        public int ForeignKey;
        public int AbortedOn;
    }
}
