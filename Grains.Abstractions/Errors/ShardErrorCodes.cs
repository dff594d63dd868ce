namespace OrleansShards;

/// <summary>Wire names, HTTP statuses and retry hints of <see cref="ShardErrorCode"/>.</summary>
public static class ShardErrorCodes
{
    /// <summary>The wire name, e.g. <c>CONFLICT_UNIQUE</c>.</summary>
    public static string ToWire(this ShardErrorCode code) => code switch
    {
        ShardErrorCode.InvalidArgument => "INVALID_ARGUMENT",
        ShardErrorCode.SqlError => "SQL_ERROR",
        ShardErrorCode.Unauthenticated => "UNAUTHENTICATED",
        ShardErrorCode.Forbidden => "FORBIDDEN",
        ShardErrorCode.NotFound => "NOT_FOUND",
        ShardErrorCode.Timeout => "TIMEOUT",
        ShardErrorCode.ConflictUnique => "CONFLICT_UNIQUE",
        ShardErrorCode.ConstraintViolation => "CONSTRAINT_VIOLATION",
        ShardErrorCode.TxNotFound => "TX_NOT_FOUND",
        ShardErrorCode.PayloadTooLarge => "PAYLOAD_TOO_LARGE",
        ShardErrorCode.Overloaded => "OVERLOADED",
        ShardErrorCode.Retryable => "RETRYABLE",
        ShardErrorCode.CapacityExceeded => "CAPACITY_EXCEEDED",
        ShardErrorCode.IdempotencyMismatch => "IDEMPOTENCY_MISMATCH",
        ShardErrorCode.ResultTooLarge => "RESULT_TOO_LARGE",
        ShardErrorCode.Unavailable => "UNAVAILABLE",
        ShardErrorCode.OperationInProgress => "OPERATION_IN_PROGRESS",
        _ => "INTERNAL",
    };

    /// <summary>Parses a wire name; unknown names map to <see cref="ShardErrorCode.Internal"/>.</summary>
    public static ShardErrorCode FromWire(string? wire) => wire switch
    {
        "INVALID_ARGUMENT" => ShardErrorCode.InvalidArgument,
        "SQL_ERROR" => ShardErrorCode.SqlError,
        "UNAUTHENTICATED" => ShardErrorCode.Unauthenticated,
        "FORBIDDEN" => ShardErrorCode.Forbidden,
        "NOT_FOUND" => ShardErrorCode.NotFound,
        "TIMEOUT" => ShardErrorCode.Timeout,
        "CONFLICT_UNIQUE" => ShardErrorCode.ConflictUnique,
        "CONSTRAINT_VIOLATION" => ShardErrorCode.ConstraintViolation,
        "TX_NOT_FOUND" => ShardErrorCode.TxNotFound,
        "PAYLOAD_TOO_LARGE" => ShardErrorCode.PayloadTooLarge,
        "OVERLOADED" => ShardErrorCode.Overloaded,
        "RETRYABLE" => ShardErrorCode.Retryable,
        "CAPACITY_EXCEEDED" => ShardErrorCode.CapacityExceeded,
        "IDEMPOTENCY_MISMATCH" => ShardErrorCode.IdempotencyMismatch,
        "RESULT_TOO_LARGE" => ShardErrorCode.ResultTooLarge,
        "UNAVAILABLE" => ShardErrorCode.Unavailable,
        "OPERATION_IN_PROGRESS" => ShardErrorCode.OperationInProgress,
        _ => ShardErrorCode.Internal,
    };

    /// <summary>The HTTP status the API answers with.</summary>
    public static int ToHttpStatus(this ShardErrorCode code) => code switch
    {
        ShardErrorCode.InvalidArgument or ShardErrorCode.SqlError or ShardErrorCode.ResultTooLarge => 400,
        ShardErrorCode.Unauthenticated => 401,
        ShardErrorCode.Forbidden => 403,
        ShardErrorCode.NotFound => 404,
        ShardErrorCode.Timeout => 408,
        ShardErrorCode.ConflictUnique or ShardErrorCode.ConstraintViolation or ShardErrorCode.TxNotFound or ShardErrorCode.IdempotencyMismatch or ShardErrorCode.OperationInProgress => 409,
        ShardErrorCode.PayloadTooLarge => 413,
        ShardErrorCode.Overloaded => 429,
        ShardErrorCode.Retryable or ShardErrorCode.Unavailable => 503,
        ShardErrorCode.CapacityExceeded => 507,
        _ => 500,
    };

    /// <summary>True for codes a client may retry unchanged (<c>RETRYABLE</c>, <c>OVERLOADED</c>, <c>UNAVAILABLE</c>, <c>OPERATION_IN_PROGRESS</c>).</summary>
    public static bool IsRetryable(this ShardErrorCode code) =>
        code is ShardErrorCode.Retryable or ShardErrorCode.Overloaded or ShardErrorCode.Unavailable or ShardErrorCode.OperationInProgress;
}
