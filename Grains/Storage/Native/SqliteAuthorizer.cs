using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace OrleansShards.Grains.Storage.Native;

/// <summary>
/// An authorizer installed on one connection (<c>sqlite3_set_authorizer</c>) that asks an
/// <see cref="ISqliteAuthorizerPolicy"/> about every action of every statement being prepared.
/// A denied action fails the prepare with SQLITE_AUTH ("not authorized"); <see cref="LastDenied"/>
/// says which action it was. The callback is a static function pointer and the policy is reached
/// through a GCHandle held until <see cref="Dispose"/>, so nothing is allocated per call.
/// </summary>
/// <remarks>
/// The same connection runs the engine's own statements (internal tables, BEGIN/COMMIT issued by
/// <see cref="SqliteConnection.BeginTransaction()"/>): run them inside <see cref="Suspend"/>. The
/// authorizer runs at prepare time, and SQLite silently re-prepares a cached statement after any
/// schema change, so suspend around the whole execution (prepare and every step), not only the
/// prepare. Dispose before closing the connection, and prefer unpooled connections: a pooled
/// handle would carry the authorizer to the next user until disposed. One authorizer per
/// connection (installing another replaces it in SQLite). Not thread-safe, like the connection.
/// </remarks>
internal sealed unsafe class SqliteAuthorizer : IDisposable
{
    private readonly sqlite3 _db;
    private readonly ISqliteAuthorizerPolicy _policy;
    private GCHandle _self;
    private int _suspended;

    private SqliteAuthorizer(sqlite3 db, ISqliteAuthorizerPolicy policy)
    {
        _db = db;
        _policy = policy;
    }

    /// <summary>The policy deciding each action.</summary>
    public ISqliteAuthorizerPolicy Policy => _policy;

    /// <summary>False while inside <see cref="Suspend"/>: every action is then allowed.</summary>
    public bool Enabled => _suspended == 0;

    /// <summary>The last action the policy denied (e.g. <c>Attach '/tmp/x.db'</c>), or null.</summary>
    public string? LastDenied { get; private set; }

    /// <summary>Installs <paramref name="policy"/> as the authorizer of <paramref name="connection"/>.</summary>
    /// <exception cref="InvalidOperationException">The connection is not open.</exception>
    public static SqliteAuthorizer Install(SqliteConnection connection, ISqliteAuthorizerPolicy policy)
    {
        ArgumentNullException.ThrowIfNull(policy);
        var db = SqliteNative.GetHandle(connection);
        var authorizer = new SqliteAuthorizer(db, policy);
        authorizer._self = GCHandle.Alloc(authorizer);
        var rc = SqliteNative.sqlite3_set_authorizer(db.DangerousGetHandle(), &OnAuthorize, GCHandle.ToIntPtr(authorizer._self));
        if (rc != SqliteNative.SQLITE_OK)
        {
            authorizer._self.Free();
            SqliteNative.ThrowError(rc, "sqlite3_set_authorizer", db);
        }

        return authorizer;
    }

    /// <summary>
    /// Allows everything until the returned scope is disposed, for the engine's own statements.
    /// Scopes nest.
    /// </summary>
    public SuspendScope Suspend()
    {
        _suspended++;
        return new SuspendScope(this);
    }

    /// <summary>Returns <see cref="LastDenied"/> and clears it.</summary>
    public string? TakeLastDenied()
    {
        var denied = LastDenied;
        LastDenied = null;
        return denied;
    }

    /// <summary>
    /// Removes the authorizer from the connection (when its handle is still open) and releases
    /// the policy. Idempotent.
    /// </summary>
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
            _ = SqliteNative.sqlite3_set_authorizer(_db.DangerousGetHandle(), null, 0);
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

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int OnAuthorize(nint userData, int action, byte* arg1, byte* arg2, byte* database, byte* triggerOrView)
    {
        try
        {
            var authorizer = (SqliteAuthorizer)GCHandle.FromIntPtr(userData).Target!;
            if (authorizer._suspended != 0)
            {
                return (int)AuthorizerResult.Ok;
            }

            var request = new AuthorizerRequest(
                (AuthorizerAction)action,
                new AuthorizerArgument(arg1),
                new AuthorizerArgument(arg2),
                new AuthorizerArgument(database),
                new AuthorizerArgument(triggerOrView));
            var result = authorizer._policy.Authorize(in request);
            if (result == AuthorizerResult.Deny)
            {
                authorizer.LastDenied = request.ToString();
            }

            return (int)result;
        }
#pragma warning disable CA1031 // An exception must never unwind into SQLite: deny instead.
        catch (Exception)
#pragma warning restore CA1031
        {
            return (int)AuthorizerResult.Deny;
        }
    }

    /// <summary>Ends a <see cref="Suspend"/> scope.</summary>
    internal readonly struct SuspendScope : IDisposable
    {
        private readonly SqliteAuthorizer? _owner;

        internal SuspendScope(SqliteAuthorizer owner) => _owner = owner;

        /// <summary>Re-enables the authorizer (unless an outer scope is still open).</summary>
        public void Dispose()
        {
            if (_owner is not null && _owner._suspended > 0)
            {
                _owner._suspended--;
            }
        }
    }
}
