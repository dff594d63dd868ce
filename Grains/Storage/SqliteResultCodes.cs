namespace OrleansShards.Grains.Storage;

/// <summary>
/// SQLite result codes and their one mapping to API error codes. Busy/locked are retryable;
/// UNIQUE and PRIMARY KEY violations are <c>CONFLICT_UNIQUE</c>, other constraints
/// <c>CONSTRAINT_VIOLATION</c>; a full database is <c>CAPACITY_EXCEEDED</c>; an interrupted
/// statement is <c>TIMEOUT</c>; everything a statement's text causes is <c>SQL_ERROR</c>.
/// </summary>
internal static class SqliteResultCodes
{
    public const int Ok = 0;
    public const int Error = 1;
    public const int Internal = 2;
    public const int Perm = 3;
    public const int Abort = 4;
    public const int Busy = 5;
    public const int Locked = 6;
    public const int NoMem = 7;
    public const int ReadOnly = 8;
    public const int Interrupt = 9;
    public const int IoErr = 10;
    public const int Corrupt = 11;
    public const int Full = 13;
    public const int CantOpen = 14;
    public const int Schema = 17;
    public const int TooBig = 18;
    public const int Constraint = 19;
    public const int Mismatch = 20;
    public const int Misuse = 21;
    public const int Auth = 23;
    public const int Range = 25;
    public const int Row = 100;
    public const int Done = 101;

    public const int ConstraintPrimaryKey = Constraint | (6 << 8);
    public const int ConstraintUnique = Constraint | (8 << 8);
    public const int ConstraintForeignKey = Constraint | (3 << 8);

    public static bool IsBusy(int rc) => (rc & 0xFF) is Busy or Locked;

    /// <summary>
    /// Maps a failed result to the shard's typed error. Classification is <see cref="Native.SqliteErrors.Classify"/>
    /// (the one mapping); this adds the engine's messages: internal faults reveal nothing about the server,
    /// a denied action is named, and "too many SQL variables" is the parameter cap (<c>INVALID_ARGUMENT</c>: 413 is for bodies).
    /// </summary>
    public static ShardException ToException(int extended, string sqliteMessage, bool timedOut = false, string? context = null, string? deniedAction = null)
    {
        var primary = extended & 0xFF;
        var interrupt = primary != Interrupt ? Native.InterruptReason.None
            : timedOut ? Native.InterruptReason.Deadline : Native.InterruptReason.Canceled;
        var code = primary == Error && sqliteMessage.StartsWith("too many SQL variables", StringComparison.Ordinal)
            ? ShardErrorCode.InvalidArgument
            : Native.SqliteErrors.Classify(primary, extended, interrupt);

        var message = code switch
        {
            ShardErrorCode.Timeout when interrupt == Native.InterruptReason.Canceled => "The statement was canceled before it finished.",
            ShardErrorCode.Timeout => "The statement ran past its time limit and was interrupted.",
            ShardErrorCode.Retryable => "The shard is busy; retry. (" + sqliteMessage + ")",
            ShardErrorCode.Overloaded => "The shard cannot open its files now (the silo may be out of file descriptors); retry shortly.",
            ShardErrorCode.CapacityExceeded => "The shard reached its size limit; writes that need more space are refused. (" + sqliteMessage + ")",
            ShardErrorCode.PayloadTooLarge => "A statement or value is larger than the shard allows. (" + sqliteMessage + ")",
            ShardErrorCode.Internal => $"Internal storage error (SQLite {primary}/{extended}).",
            _ when deniedAction is not null && sqliteMessage.Contains("not authorized", StringComparison.Ordinal) => sqliteMessage + ": " + deniedAction,
            _ => sqliteMessage,
        };

        if (context is not null)
        {
            message = context + ": " + message;
        }

        return new ShardException(code, message, primary, extended);
    }
}
