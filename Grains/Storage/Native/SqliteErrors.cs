using Microsoft.Data.Sqlite;

namespace OrleansShards.Grains.Storage.Native;

/// <summary>
/// Maps SQLite result codes to the API's <see cref="ShardErrorCode"/>, in one place:
/// BUSY/LOCKED → Retryable; CONSTRAINT_UNIQUE, CONSTRAINT_PRIMARYKEY, CONSTRAINT_ROWID →
/// ConflictUnique; other CONSTRAINT → ConstraintViolation; FULL → CapacityExceeded;
/// TOOBIG → PayloadTooLarge; CANTOPEN (the process out of file descriptors) → Overloaded, retryable; INTERRUPT → Timeout when <see cref="ProgressDeadline"/> fired
/// (deadline or cancellation), otherwise Internal; AUTH, ERROR, RANGE, MISMATCH → SqlError;
/// anything else (I/O, corruption, misuse, …) → Internal, with a message that reveals nothing
/// about the server.
/// </summary>
internal static class SqliteErrors
{
    private const int SQLITE_ERROR = 1;
    private const int SQLITE_BUSY = 5;
    private const int SQLITE_LOCKED = 6;
    private const int SQLITE_INTERRUPT = 9;
    private const int SQLITE_FULL = 13;
    private const int SQLITE_CANTOPEN = 14;
    private const int SQLITE_TOOBIG = 18;
    private const int SQLITE_CONSTRAINT = 19;
    private const int SQLITE_MISMATCH = 20;
    private const int SQLITE_AUTH = 23;
    private const int SQLITE_RANGE = 25;
    private const int SQLITE_CONSTRAINT_PRIMARYKEY = SQLITE_CONSTRAINT | (6 << 8);
    private const int SQLITE_CONSTRAINT_UNIQUE = SQLITE_CONSTRAINT | (8 << 8);
    private const int SQLITE_CONSTRAINT_ROWID = SQLITE_CONSTRAINT | (10 << 8);

    /// <summary>The API code for a (primary, extended) SQLite result code.</summary>
    /// <param name="primary">The primary result code (only its low 8 bits are used).</param>
    /// <param name="extended">The extended result code.</param>
    /// <param name="interrupt">Why the statement was interrupted, for SQLITE_INTERRUPT.</param>
    public static ShardErrorCode Classify(int primary, int extended, InterruptReason interrupt = InterruptReason.None) =>
        (primary & 0xFF) switch
        {
            SQLITE_BUSY or SQLITE_LOCKED => ShardErrorCode.Retryable,
            SQLITE_CONSTRAINT => extended is SQLITE_CONSTRAINT_UNIQUE or SQLITE_CONSTRAINT_PRIMARYKEY or SQLITE_CONSTRAINT_ROWID
                ? ShardErrorCode.ConflictUnique
                : ShardErrorCode.ConstraintViolation,
            SQLITE_FULL => ShardErrorCode.CapacityExceeded,
            SQLITE_CANTOPEN => ShardErrorCode.Overloaded,
            SQLITE_TOOBIG => ShardErrorCode.PayloadTooLarge,
            SQLITE_INTERRUPT => interrupt == InterruptReason.None ? ShardErrorCode.Internal : ShardErrorCode.Timeout,
            SQLITE_AUTH or SQLITE_ERROR or SQLITE_RANGE or SQLITE_MISMATCH => ShardErrorCode.SqlError,
            _ => ShardErrorCode.Internal,
        };

    /// <summary>
    /// The <see cref="ShardException"/> for <paramref name="exception"/>, carrying both SQLite
    /// codes and the original as inner exception.
    /// </summary>
    /// <param name="exception">What Microsoft.Data.Sqlite (or this native layer) threw.</param>
    /// <param name="interrupt">The connection's <see cref="ProgressDeadline.LastInterrupt"/>.</param>
    /// <param name="deniedAction">The connection's <see cref="SqliteAuthorizer.LastDenied"/>, named in an AUTH message.</param>
    public static ShardException ToShardException(SqliteException exception, InterruptReason interrupt = InterruptReason.None, string? deniedAction = null)
    {
        ArgumentNullException.ThrowIfNull(exception);
        var primary = exception.SqliteErrorCode & 0xFF;
        var extended = exception.SqliteExtendedErrorCode;
        var code = Classify(primary, extended, interrupt);
        var message = code switch
        {
            ShardErrorCode.Timeout => interrupt == InterruptReason.Canceled
                ? "The statement was canceled before it finished."
                : "The statement ran past its time limit.",
            ShardErrorCode.Internal => $"Internal storage error (SQLite {primary}/{extended}).",
            ShardErrorCode.Overloaded => "The shard cannot open its files now (the silo may be out of file descriptors); retry shortly.",
            _ when primary == SQLITE_AUTH => deniedAction is null ? "not authorized" : "not authorized: " + deniedAction,
            _ => exception.Message,
        };
        return new ShardException(code, message, primary, extended, exception);
    }
}
