using OrleansShards.Grains.Storage;
using OrleansShards.Grains.Writes;

namespace OrleansShards.Grains.TableShards;

/// <summary>Interactive transactions: held by <see cref="OpenTransactions"/>, validated on a reader, committed by the writer.</summary>
internal sealed partial class TableShardGrain
{
    public async Task<TransactionResult> TransactionAsync(TransactionRequest request, CancellationToken cancellationToken = default)
    {
        try
        {
            ArgumentNullException.ThrowIfNull(request);
            RejectSharded("an interactive transaction");
            if (request.IdempotencyKey is not null && request.Operation != TransactionOperation.Commit)
            {
                throw new ShardException(ShardErrorCode.InvalidArgument, "idempotencyKey is taken on COMMIT only (a repeated BEGIN opens another transaction).");
            }

            switch (request.Operation)
            {
                case TransactionOperation.Begin:
                    var begun = _transactions.Begin();
                    return new TransactionResult(begun.Id, begun.ExpiresAt.ToUnixTimeMilliseconds());
                case TransactionOperation.Commit:
                    return await CommitAsync(request);
                case TransactionOperation.Rollback:
                    var id = RequireTransactionId(request.TransactionId);
                    _ = _transactions.TryEnd(id) ?? throw _transactions.NotFound(id);
                    return new TransactionResult(id, RolledBack: true);
                default:
                    throw new ShardException(ShardErrorCode.InvalidArgument, "operation must be BEGIN, COMMIT or ROLLBACK.");
            }
        }
        catch (ShardException ex) when (CountError(ex))
        {
            throw;
        }
    }

    private async Task<TransactionResult> CommitAsync(TransactionRequest request)
    {
        var id = RequireTransactionId(request.TransactionId);
        if (_transactions.TryEnd(id) is not { } transaction)
        {
            // A retried COMMIT whose first attempt committed: its idempotency key still answers.
            if (request.IdempotencyKey is { } key && await _writer.FindIdempotentAsync(key, IdempotencyHash.OfCommit(id)) is { } replay)
            {
                return new TransactionResult(id, Results: replay.Results, Bookmark: BookmarkOf(replay.Sequence));
            }

            throw _transactions.NotFound(id);
        }

        var statements = transaction.Seal();
        if (statements.Count == 0)
        {
            return new TransactionResult(id, Results: [], Bookmark: BookmarkOf(_writer.Sequence));
        }

        WriteOutcome outcome;
        try
        {
            outcome = await WriteAsync(new WriteWork(WriteKind.Atomic, statements, request.IdempotencyKey, requestHash: IdempotencyHash.OfCommit(id)) { NoGrowth = transaction.NoGrowth || request.NoGrowth });
        }
        catch (ShardException ex) when (ex.Code is ShardErrorCode.IdempotencyMismatch or ShardErrorCode.CapacityExceeded)
        {
            // Nothing ran (the key belongs to another request, or the commit would grow a tenant over its quota and was
            // rolled back): the transaction stays open, for a COMMIT with a new key or once space is freed.
            _transactions.Reopen(transaction);
            throw;
        }

        return new TransactionResult(id, Results: outcome.Results, Bookmark: BookmarkOf(outcome.Sequence));
    }

    /// <summary>Validates the statement now (it must prepare under the tenant write rules) and queues it.</summary>
    private async Task QueueInTransactionAsync(string transactionId, Statement statement, bool noGrowth, CancellationToken cancellationToken)
    {
        var transaction = _transactions.ForQueue(transactionId, statement);
        var reader = await _readers.RentAsync(cancellationToken);
        try
        {
            // A pooled reader may hold the schema as it was before a DDL (SQLite notices a change when a statement runs,
            // not when one is prepared): it is brought up to date first, so the statement is judged against the schema
            // its COMMIT will run on.
            reader.RefreshSchema();
            reader.Mode = SqlMode.TenantWrite;
            using var prepared = reader.PrepareUncached(statement.Query);
            var count = statement.Params?.Count ?? 0;
            if (count != prepared.ParameterCount)
            {
                throw new ShardException(ShardErrorCode.InvalidArgument,
                    $"The statement has {prepared.ParameterCount} parameter(s) but {count} value(s) were sent.");
            }
        }
        finally
        {
            reader.Mode = SqlMode.Internal;
            _readers.Return(reader);
        }

        // COMMIT or ROLLBACK may have ended the transaction while this statement was being validated: refused, not dropped.
        _transactions.Queue(transaction, statement, noGrowth);
    }

    private static string RequireTransactionId(string? id) =>
        string.IsNullOrEmpty(id)
            ? throw new ShardException(ShardErrorCode.InvalidArgument, "COMMIT and ROLLBACK need a transactionId.")
            : id;
}
