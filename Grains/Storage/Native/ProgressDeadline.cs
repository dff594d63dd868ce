using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace OrleansShards.Grains.Storage.Native;

/// <summary>
/// A progress handler on one connection (<c>sqlite3_progress_handler</c>) that interrupts the
/// running statement once a deadline has passed or a cancellation token is signalled. SQLite
/// then fails the step with SQLITE_INTERRUPT; <see cref="LastInterrupt"/> says whether that was
/// the deadline (map to TIMEOUT) or cancellation. Checked every <c>instructions</c> VM
/// instructions; outside a <see cref="Start"/> scope the check is a single field read. The
/// callback is a static function pointer; no allocation per call or per scope.
/// </summary>
/// <remarks>
/// Time comes from a <see cref="TimeProvider"/> (<see cref="TimeProvider.GetTimestamp"/>), so
/// tests can drive it. A statement waiting on a lock runs no instructions and is not interrupted
/// while it waits. Dispose before closing the connection. One progress handler per connection.
/// Not thread-safe, like the connection.
/// </remarks>
internal sealed unsafe class ProgressDeadline : IDisposable
{
    private readonly sqlite3 _db;
    private readonly TimeProvider _time;
    private GCHandle _self;
    private long _deadline = long.MaxValue;
    private CancellationToken _cancellation;
    private bool _active;

    private ProgressDeadline(sqlite3 db, TimeProvider time)
    {
        _db = db;
        _time = time;
    }

    /// <summary>Why the current (or last) scope's statement was interrupted.</summary>
    public InterruptReason LastInterrupt { get; private set; }

    /// <summary>Installs the handler, checking every <paramref name="instructions"/> VM instructions.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="instructions"/> is not positive.</exception>
    /// <exception cref="InvalidOperationException">The connection is not open.</exception>
    public static ProgressDeadline Install(SqliteConnection connection, int instructions = 10_000, TimeProvider? timeProvider = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(instructions);
        var db = SqliteNative.GetHandle(connection);
        var deadline = new ProgressDeadline(db, timeProvider ?? TimeProvider.System);
        deadline._self = GCHandle.Alloc(deadline);
        SqliteNative.sqlite3_progress_handler(db.DangerousGetHandle(), instructions, &OnProgress, GCHandle.ToIntPtr(deadline._self));
        return deadline;
    }

    /// <summary>
    /// Bounds the statements run until the scope is disposed: they are interrupted once
    /// <paramref name="timeout"/> has elapsed from now, or when <paramref name="cancellationToken"/>
    /// is signalled. Resets <see cref="LastInterrupt"/>. Use <see cref="Timeout.InfiniteTimeSpan"/>
    /// for cancellation only.
    /// </summary>
    /// <exception cref="InvalidOperationException">A scope is already open.</exception>
    public Scope Start(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(!_self.IsAllocated, this);
        if (_active)
        {
            throw new InvalidOperationException("A deadline scope is already open on this connection.");
        }

        long deadline;
        if (timeout == Timeout.InfiniteTimeSpan)
        {
            deadline = long.MaxValue;
        }
        else
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(timeout, TimeSpan.Zero);
            var ticks = (long)(timeout.TotalSeconds * _time.TimestampFrequency);
            var now = _time.GetTimestamp();
            deadline = ticks > long.MaxValue - now ? long.MaxValue : now + ticks;
        }

        _deadline = deadline;
        _cancellation = cancellationToken;
        LastInterrupt = InterruptReason.None;
        _active = true;
        return new Scope(this);
    }

    /// <summary>Removes the handler from the connection (when still open). Idempotent.</summary>
    public void Dispose()
    {
        if (!_self.IsAllocated)
        {
            return;
        }

        var added = false;
        try
        {
            _db.DangerousAddRef(ref added);
            SqliteNative.sqlite3_progress_handler(_db.DangerousGetHandle(), 0, null, 0);
        }
        catch (ObjectDisposedException)
        {
            // The handle is closed: SQLite will never call back again.
        }
        finally
        {
            if (added)
            {
                _db.DangerousRelease();
            }

            _self.Free();
        }
    }

    private void End()
    {
        _active = false;
        _deadline = long.MaxValue;
        _cancellation = default;
    }

    /// <summary>Returns non-zero (interrupt) when the open scope's deadline passed or it was canceled.</summary>
    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int OnProgress(nint userData)
    {
        try
        {
            var self = (ProgressDeadline)GCHandle.FromIntPtr(userData).Target!;
            if (!self._active)
            {
                return 0;
            }

            if (self._cancellation.IsCancellationRequested)
            {
                self.LastInterrupt = InterruptReason.Canceled;
                return 1;
            }

            if (self._deadline != long.MaxValue && self._time.GetTimestamp() >= self._deadline)
            {
                self.LastInterrupt = InterruptReason.Deadline;
                return 1;
            }

            return 0;
        }
#pragma warning disable CA1031 // An exception must never unwind into SQLite.
        catch (Exception)
#pragma warning restore CA1031
        {
            return 0;
        }
    }

    /// <summary>Ends a <see cref="Start"/> scope; <see cref="LastInterrupt"/> stays readable after it.</summary>
    internal readonly struct Scope : IDisposable
    {
        private readonly ProgressDeadline? _owner;

        internal Scope(ProgressDeadline owner) => _owner = owner;

        /// <summary>Stops bounding statements.</summary>
        public void Dispose() => _owner?.End();
    }
}
