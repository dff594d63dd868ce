using Orleans;

namespace OrleansShards;

/// <summary>
/// Every error a caller can receive. Each has one HTTP status and one wire name
/// (see <see cref="ShardErrorCodes"/>); a client maps it back to the same code.
/// </summary>
[GenerateSerializer, Alias("orleansshards.ShardErrorCode")]
public enum ShardErrorCode
{
    /// <summary>The request is malformed or names something invalid (400).</summary>
    InvalidArgument,
    /// <summary>The SQL failed to prepare or run: syntax, unknown table/column, denied by the authorizer (400).</summary>
    SqlError,
    /// <summary>No or unknown API key (401).</summary>
    Unauthenticated,
    /// <summary>The API key does not belong to the tenant (403).</summary>
    Forbidden,
    /// <summary>The table, row, bookmark or other named thing does not exist (404).</summary>
    NotFound,
    /// <summary>The statement or call ran past its time limit (408).</summary>
    Timeout,
    /// <summary>A UNIQUE or PRIMARY KEY constraint was violated (409).</summary>
    ConflictUnique,
    /// <summary>Another constraint (NOT NULL, CHECK, FOREIGN KEY) was violated (409).</summary>
    ConstraintViolation,
    /// <summary>The transaction id is unknown, expired, or was aborted (409).</summary>
    TxNotFound,
    /// <summary>The request, statement or value is larger than allowed (413).</summary>
    PayloadTooLarge,
    /// <summary>Too many requests; retry later (429, retryable).</summary>
    Overloaded,
    /// <summary>A transient failure (busy, locked, shard moving); retry (503, retryable).</summary>
    Retryable,
    /// <summary>The shard reached its size limit; writes are refused, reads still work (507).</summary>
    CapacityExceeded,
    /// <summary>An unexpected server fault (500). Never caused by client input.</summary>
    Internal,
    /// <summary>An idempotency key was reused with a different request (409); the first request's outcome stands.</summary>
    IdempotencyMismatch,
    /// <summary>A result has more rows or bytes than a response may carry (400); narrow the query or page through it.</summary>
    ResultTooLarge,
    /// <summary>
    /// No primary of the shard is reachable: its silo is dead, unreachable or fenced (503, retryable). Another
    /// silo may take the shard over; retry.
    /// </summary>
    Unavailable,
    /// <summary>Another long operation (shard, unshard, rebalance) is running on the table (409, retryable once it ends).</summary>
    OperationInProgress,
}
