using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using OrleansShards.Grains.Storage;
using OrleansShards.Grains.Storage.Native;
using OrleansShards.Grains.Writes;

namespace OrleansShards.Grains.Pitr;

/// <summary>
/// Captures a writer transaction's changes with SQLite's pre-update hook and writes them as a standard
/// changeset (the session extension's binary format, so <see cref="Changeset"/> reads, applies and inverts
/// it unchanged). It exists for speed: a session per transaction costs a <c>table_xinfo</c> query when the
/// table is first written and a prepared <c>SELECT</c> per table when the changeset is built, together
/// about half the CPU of a one-row commit; this capture copies each changed row image as the hook reports
/// it and keeps the table shapes between transactions (reloaded when <c>schema_version</c> moves).
/// </summary>
/// <remarks>
/// <para>Net effect per primary key, as the session extension computes it: a row's first image in the
/// transaction and its last one. Inserted then deleted is nothing; inserted then updated is an INSERT of
/// the final values; an UPDATE carries the primary key and the changed columns' old values, the changed
/// columns' new values, undefined elsewhere; an update that changes the key is a DELETE plus an INSERT;
/// rows whose primary key holds a NULL are skipped (like sessions). Tables without a declared primary
/// key are keyed by an implicit leading rowid column (the session's <c>SQLITE_SESSION_OBJCONFIG_ROWID</c>).
/// REPLACE fires the hook for the row it overwrites, so it is seen as a delete too.</para>
/// <para>The writer's per-work savepoints are mirrored: <see cref="IChangeCaptureScope.WorkRolledBack"/>
/// undoes what the work recorded, exactly as <c>ROLLBACK TO</c> undoes its rows.</para>
/// <para>Where the hook's view is not the session's, this capture hands the transaction to
/// <see cref="SessionChangeCapture"/>: schema changes (DDL transactions, whose logged changeset is
/// compared byte for byte with a session's when replayed), and shards with generated or hidden columns or
/// virtual tables.</para>
/// One instance per writer connection; not thread-safe, like the connection.
/// </remarks>
internal sealed unsafe class PreupdateChangeCapture : IChangeCapture
{
    private readonly List<TableShape> _tables = [];
    private long _schemaVersion = -1;
    private bool _sessionOnly;

    public IChangeCaptureScope Begin(ShardConnection writer, bool schemaChange)
    {
        if (schemaChange)
        {
            return SessionChangeCapture.Instance.Begin(writer, schemaChange);
        }

        var version = writer.ExecuteScalar("PRAGMA schema_version");
        if (version != _schemaVersion)
        {
            LoadShapes(writer);
            _schemaVersion = version;
        }

        return _sessionOnly ? SessionChangeCapture.Instance.Begin(writer, schemaChange) : new Scope(this, writer.Db.DangerousGetHandle());
    }

    private void LoadShapes(ShardConnection writer)
    {
        _tables.Clear();
        _sessionOnly = false;
        foreach (var table in writer.Query("SELECT name, coalesce(sql, '') FROM sqlite_schema WHERE type = 'table' AND substr(name, 1, 1) <> '_' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'"))
        {
            var name = table[0].AsText;
            if (table[1].AsText.StartsWith("CREATE VIRTUAL", StringComparison.OrdinalIgnoreCase))
            {
                _sessionOnly = true;
                continue;
            }

            var columns = writer.Query("SELECT pk, hidden FROM pragma_table_xinfo(?) ORDER BY cid", name);
            if (columns.Any(c => c[1].AsInteger != 0))
            {
                _sessionOnly = true;
            }

            var pk = columns.Select(c => (byte)c[0].AsInteger).ToArray();
            var rowidKey = pk.All(p => p == 0);
            _tables.Add(new TableShape(name, columns.Count, rowidKey ? [1, .. pk] : pk));
        }
    }

    private TableShape? FindShape(ReadOnlySpan<byte> utf8Name)
    {
        foreach (var shape in _tables)
        {
            if (shape.Utf8Name.AsSpan().SequenceEqual(utf8Name))
            {
                return shape;
            }
        }

        // SQLite reports the table name as declared; a mismatch in case only is still the same table.
        var name = Encoding.UTF8.GetString(utf8Name);
        return _tables.FirstOrDefault(t => string.Equals(t.Name, name, StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>A table's changeset header facts.</summary>
    private sealed class TableShape(string name, int sourceColumns, byte[] primaryKey)
    {
        public string Name { get; } = name;

        public byte[] Utf8Name { get; } = Encoding.UTF8.GetBytes(name);

        /// <summary>Columns the hook reports.</summary>
        public int SourceColumns { get; } = sourceColumns;

        /// <summary>True when the changeset keys the table by an implicit leading rowid column.</summary>
        public bool RowidKey => PrimaryKey.Length == SourceColumns + 1;

        /// <summary>Per changeset column: its position in the primary key (1-based), 0 when not part of it.</summary>
        public byte[] PrimaryKey { get; } = primaryKey;
    }

    /// <summary>One row image: its columns encoded as changeset values, back to back.</summary>
    private sealed class RowImage(byte[] data, int[] offsets)
    {
        public byte[] Data { get; } = data;

        public int[] Offsets { get; } = offsets;

        public ReadOnlySpan<byte> Column(int i) => Data.AsSpan(Offsets[i], Offsets[i + 1] - Offsets[i]);
    }

    /// <summary>A row touched in this transaction: its image before the transaction (null: absent) and now (null: deleted).</summary>
    private sealed class Entry(TableShape table, byte[] key, RowImage? original, RowImage? current, bool indirect, int work)
    {
        public TableShape Table { get; } = table;

        public byte[] Key { get; } = key;

        public RowImage? Original { get; } = original;

        public RowImage? Current { get; set; } = current;

        public bool Indirect { get; set; } = indirect;

        public bool Removed { get; set; }

        /// <summary>The work that last saved an undo record for this entry.</summary>
        public int Work { get; set; } = work;
    }

    private readonly record struct Undo(Entry Entry, bool Created, RowImage? Current, bool Indirect);

    private sealed class KeyComparer : IEqualityComparer<(TableShape Table, byte[] Key)>
    {
        public static readonly KeyComparer Instance = new();

        public bool Equals((TableShape Table, byte[] Key) x, (TableShape Table, byte[] Key) y) =>
            ReferenceEquals(x.Table, y.Table) && x.Key.AsSpan().SequenceEqual(y.Key);

        public int GetHashCode((TableShape Table, byte[] Key) obj)
        {
            var hash = new HashCode();
            hash.Add(RuntimeHelpers.GetHashCode(obj.Table));
            hash.AddBytes(obj.Key);
            return hash.ToHashCode();
        }
    }

    private sealed class Scope : IChangeCaptureScope
    {
        private readonly PreupdateChangeCapture _owner;
        private readonly nint _db;
        private readonly List<Entry> _entries = [];
        private readonly Dictionary<(TableShape, byte[]), Entry> _index = new(KeyComparer.Instance);
        private readonly List<Undo> _undo = [];
        private readonly ArrayBufferWriter<byte> _scratch = new(256);
        private readonly List<int> _offsets = [];
        private GCHandle _self;
        private int _work;
        private Exception? _failure;

        public Scope(PreupdateChangeCapture owner, nint db)
        {
            _owner = owner;
            _db = db;
            _self = GCHandle.Alloc(this);
            var previous = SqliteNative.sqlite3_preupdate_hook(db, &OnPreupdate, GCHandle.ToIntPtr(_self));
            if (previous != 0)
            {
                // Another pre-update hook (a live session) owns the connection: put it back and refuse.
                SqliteNative.sqlite3_preupdate_hook(db, null, 0);
                _self.Free();
                throw new ShardException(ShardErrorCode.Internal, "Could not start change capture: the connection already has a pre-update hook.");
            }
        }

        public void WorkStarted()
        {
            _work++;
            _undo.Clear();
            _unkeyed = 0;
            RowsInserted = 0;
        }

        public int RowsInserted { get; private set; }

        /// <summary>Rows seen with a NULL in their primary key since the last call.</summary>
        private int _unkeyed;

        public int TakeUnkeyedRows()
        {
            var unkeyed = _unkeyed;
            _unkeyed = 0;
            return unkeyed;
        }

        public void WorkRolledBack()
        {
            for (var i = _undo.Count - 1; i >= 0; i--)
            {
                var undo = _undo[i];
                if (undo.Created)
                {
                    undo.Entry.Removed = true;
                    _index.Remove((undo.Entry.Table, undo.Entry.Key));
                }
                else
                {
                    undo.Entry.Current = undo.Current;
                    undo.Entry.Indirect = undo.Indirect;
                }
            }

            _undo.Clear();
            _work++;
        }

        public byte[]? TakeChangeset()
        {
            if (_failure is { } failure)
            {
                throw new ShardException(ShardErrorCode.Internal, "Could not capture the changeset: " + failure.Message, failure);
            }

            var output = new ArrayBufferWriter<byte>(64);
            foreach (var table in _entries.Where(e => !e.Removed).Select(e => e.Table).Distinct())
            {
                var headerWritten = false;
                foreach (var entry in _entries)
                {
                    if (entry.Removed || !ReferenceEquals(entry.Table, table))
                    {
                        continue;
                    }

                    var (original, current) = (entry.Original, entry.Current);
                    if (original is null && current is null)
                    {
                        continue;
                    }

                    // An update: which columns differ, compared once (none: the row is back as it was, nothing to log).
                    var changed = original is not null && current is not null ? ChangedColumns(original, current) : null;
                    if (original is not null && current is not null && changed is null)
                    {
                        continue;
                    }

                    if (!headerWritten)
                    {
                        WriteByte(output, (byte)'T');
                        WriteVarint(output, (ulong)table.PrimaryKey.Length);
                        output.Write(table.PrimaryKey);
                        output.Write(table.Utf8Name);
                        WriteByte(output, 0);
                        headerWritten = true;
                    }

                    var indirect = entry.Indirect ? (byte)1 : (byte)0;
                    if (original is null)
                    {
                        WriteByte(output, SqliteNative.SQLITE_INSERT);
                        WriteByte(output, indirect);
                        output.Write(current!.Data);
                    }
                    else if (current is null)
                    {
                        WriteByte(output, SqliteNative.SQLITE_DELETE);
                        WriteByte(output, indirect);
                        output.Write(original.Data);
                    }
                    else
                    {
                        WriteByte(output, SqliteNative.SQLITE_UPDATE);
                        WriteByte(output, indirect);
                        var columns = table.PrimaryKey.Length;
                        for (var c = 0; c < columns; c++)
                        {
                            if (changed![c] || table.PrimaryKey[c] != 0)
                            {
                                output.Write(original.Column(c));
                            }
                            else
                            {
                                WriteByte(output, 0);
                            }
                        }

                        for (var c = 0; c < columns; c++)
                        {
                            if (changed![c])
                            {
                                output.Write(current!.Column(c));
                            }
                            else
                            {
                                WriteByte(output, 0);
                            }
                        }
                    }
                }
            }

            return output.WrittenSpan.ToArray();
        }

        public void Dispose()
        {
            if (_self.IsAllocated)
            {
                SqliteNative.sqlite3_preupdate_hook(_db, null, 0);
                _self.Free();
            }
        }

        /// <summary>Per column, whether <paramref name="after"/> differs from <paramref name="before"/> (type and bytes); null when none does.</summary>
        private static bool[]? ChangedColumns(RowImage before, RowImage after)
        {
            bool[]? changed = null;
            for (var c = 0; c < before.Offsets.Length - 1; c++)
            {
                if (!before.Column(c).SequenceEqual(after.Column(c)))
                {
                    changed ??= new bool[before.Offsets.Length - 1];
                    changed[c] = true;
                }
            }

            return changed;
        }

        [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
        private static void OnPreupdate(nint context, nint db, int op, byte* database, byte* table, long oldRowid, long newRowid)
        {
            Scope? scope = null;
            try
            {
                scope = (Scope)GCHandle.FromIntPtr(context).Target!;
                scope.OnChange(op, database, table, oldRowid, newRowid);
            }
            catch (Exception ex)
            {
                if (scope is not null)
                {
                    scope._failure ??= ex;
                }
            }
        }

        private void OnChange(int op, byte* database, byte* table, long oldRowid, long newRowid)
        {
            if (_failure is not null || !IsMain(database) || table is null || table[0] == (byte)'_')
            {
                return;
            }

            var name = MemoryMarshal.CreateReadOnlySpanFromNullTerminated(table);
            if (name.StartsWith("sqlite_"u8))
            {
                return;
            }

            var shape = _owner.FindShape(name)
                ?? throw new InvalidOperationException($"table '{Encoding.UTF8.GetString(name)}' changed but its shape is unknown.");
            var count = SqliteNative.sqlite3_preupdate_count(_db);
            if (count != shape.SourceColumns)
            {
                throw new InvalidOperationException($"table '{shape.Name}' reported {count} columns, {shape.SourceColumns} expected.");
            }

            var indirect = SqliteNative.sqlite3_preupdate_depth(_db) > 0;
            switch (op)
            {
                case SqliteNative.SQLITE_INSERT:
                    RowsInserted++;
                    var inserted = ReadImage(shape, newImage: true, newRowid);
                    var insertedKey = KeyOf(shape, inserted);
                    CountUnkeyed(hadKey: true, insertedKey);
                    Record(shape, null, inserted, indirect, insertedKey);
                    break;
                case SqliteNative.SQLITE_DELETE:
                    Record(shape, ReadImage(shape, newImage: false, oldRowid), null, indirect);
                    break;
                case SqliteNative.SQLITE_UPDATE:
                    var before = ReadImage(shape, newImage: false, oldRowid);
                    var after = ReadImage(shape, newImage: true, newRowid);
                    var beforeKey = KeyOf(shape, before);
                    var afterKey = KeyOf(shape, after);
                    CountUnkeyed(hadKey: beforeKey is not null, afterKey);
                    if (beforeKey is not null && afterKey is not null && beforeKey.AsSpan().SequenceEqual(afterKey))
                    {
                        Record(shape, before, after, indirect, beforeKey);
                    }
                    else
                    {
                        // A new primary key is another row: the old one is deleted, the new one inserted.
                        Record(shape, before, null, indirect, beforeKey);
                        Record(shape, null, after, indirect, afterKey);
                    }

                    break;
            }
        }

        /// <summary>
        /// A row that gets a NULL key now (inserted, or updated from a key) makes the writer refuse the work. A row that
        /// already had one (written before this check) is left as it was, unlogged: updating it, giving it a key (logged as
        /// an insert) or deleting it is not refused.
        /// </summary>
        private void CountUnkeyed(bool hadKey, byte[]? key)
        {
            if (key is null && hadKey)
            {
                _unkeyed++;
            }
        }

        private static bool IsMain(byte* database) =>
            database is not null && database[0] == 'm' && database[1] == 'a' && database[2] == 'i' && database[3] == 'n' && database[4] == 0;

        private void Record(TableShape shape, RowImage? before, RowImage? after, bool indirect) =>
            Record(shape, before, after, indirect, KeyOf(shape, (before ?? after)!));

        private void Record(TableShape shape, RowImage? before, RowImage? after, bool indirect, byte[]? key)
        {
            if (key is null)
            {
                // A NULL in the primary key: not recorded (as with sessions); see CountUnkeyed.
                return;
            }

            if (_index.TryGetValue((shape, key), out var entry))
            {
                if (entry.Work != _work)
                {
                    _undo.Add(new Undo(entry, Created: false, entry.Current, entry.Indirect));
                    entry.Work = _work;
                }

                entry.Current = after;
                entry.Indirect &= indirect;
                return;
            }

            entry = new Entry(shape, key, before, after, indirect, _work);
            _index.Add((shape, key), entry);
            _entries.Add(entry);
            _undo.Add(new Undo(entry, Created: true, null, false));
        }

        /// <summary>The primary-key columns' encoded values back to back, or null when one is NULL.</summary>
        private static byte[]? KeyOf(TableShape shape, RowImage image)
        {
            var length = 0;
            for (var c = 0; c < shape.PrimaryKey.Length; c++)
            {
                if (shape.PrimaryKey[c] != 0)
                {
                    var column = image.Column(c);
                    if (column[0] == NullType)
                    {
                        return null;
                    }

                    length += column.Length;
                }
            }

            var key = new byte[length];
            var at = 0;
            for (var c = 0; c < shape.PrimaryKey.Length; c++)
            {
                if (shape.PrimaryKey[c] != 0)
                {
                    var column = image.Column(c);
                    column.CopyTo(key.AsSpan(at));
                    at += column.Length;
                }
            }

            return key;
        }

        private RowImage ReadImage(TableShape shape, bool newImage, long rowid)
        {
            _scratch.ResetWrittenCount();
            _offsets.Clear();
            if (shape.RowidKey)
            {
                _offsets.Add(0);
                WriteInteger(_scratch, rowid);
            }

            for (var i = 0; i < shape.SourceColumns; i++)
            {
                _offsets.Add(_scratch.WrittenCount);
                nint value;
                var rc = newImage ? SqliteNative.sqlite3_preupdate_new(_db, i, &value) : SqliteNative.sqlite3_preupdate_old(_db, i, &value);
                if (rc != SqliteNative.SQLITE_OK)
                {
                    throw new InvalidOperationException($"sqlite3_preupdate_{(newImage ? "new" : "old")} failed with code {rc}.");
                }

                WriteValue(_scratch, value);
            }

            _offsets.Add(_scratch.WrittenCount);
            return new RowImage(_scratch.WrittenSpan.ToArray(), [.. _offsets]);
        }
    }

    private const byte NullType = 5;

    private static void WriteValue(ArrayBufferWriter<byte> output, nint value)
    {
        switch (SqliteNative.sqlite3_value_type(value))
        {
            case SqliteNative.SQLITE_INTEGER:
                WriteInteger(output, SqliteNative.sqlite3_value_int64(value));
                break;
            case SqliteNative.SQLITE_FLOAT:
                var real = output.GetSpan(9);
                real[0] = 2;
                BinaryPrimitives.WriteInt64BigEndian(real[1..], BitConverter.DoubleToInt64Bits(SqliteNative.sqlite3_value_double(value)));
                output.Advance(9);
                break;
            case SqliteNative.SQLITE_TEXT:
                var text = SqliteNative.sqlite3_value_text(value);
                WriteBytes(output, 3, new ReadOnlySpan<byte>(text, SqliteNative.sqlite3_value_bytes(value)));
                break;
            case SqliteNative.SQLITE_BLOB:
                var blob = SqliteNative.sqlite3_value_blob(value);
                var length = SqliteNative.sqlite3_value_bytes(value);
                WriteBytes(output, 4, blob is null ? [] : new ReadOnlySpan<byte>(blob, length));
                break;
            default:
                WriteByte(output, NullType);
                break;
        }
    }

    private static void WriteInteger(ArrayBufferWriter<byte> output, long value)
    {
        var span = output.GetSpan(9);
        span[0] = 1;
        BinaryPrimitives.WriteInt64BigEndian(span[1..], value);
        output.Advance(9);
    }

    private static void WriteBytes(ArrayBufferWriter<byte> output, byte type, ReadOnlySpan<byte> bytes)
    {
        WriteByte(output, type);
        WriteVarint(output, (ulong)bytes.Length);
        output.Write(bytes);
    }

    private static void WriteByte(ArrayBufferWriter<byte> output, byte value)
    {
        output.GetSpan(1)[0] = value;
        output.Advance(1);
    }

    /// <summary>SQLite's varint (big-endian groups of 7 bits, high bit set on all but the last), for lengths.</summary>
    private static void WriteVarint(ArrayBufferWriter<byte> output, ulong value)
    {
        Span<byte> groups = stackalloc byte[10];
        var n = 0;
        do
        {
            groups[n++] = (byte)(value & 0x7f);
            value >>= 7;
        }
        while (value != 0);

        var span = output.GetSpan(n);
        for (var i = 0; i < n; i++)
        {
            span[i] = (byte)(groups[n - 1 - i] | (i < n - 1 ? 0x80 : 0));
        }

        output.Advance(n);
    }
}
