using OrleansShards.Grains.Storage;
using OrleansShards.Grains.Writes;

namespace OrleansShards.Grains.TableShards;

internal sealed partial class TableShardGrain
{
    private const int MaxOpenTransactions = 1000;

    /// <summary>The most one open transaction may queue (estimated bytes of its statements and values).</summary>
    internal const long MaxTransactionBytes = 8L * 1024 * 1024;

    /// <summary>The most a shard's open transactions may queue together: beyond, queuing answers OVERLOADED until some end.</summary>
    internal const long MaxQueuedTransactionBytes = 32L * 1024 * 1024;

    public async Task<TransactionResult> TransactionAsync(TransactionRequest request, CancellationToken cancellationToken = default)
    {
        try
        {
            ArgumentNullException.ThrowIfNull(request);
            RejectSharded("an interactive transaction");
            switch (request.Operation)
            {
                case TransactionOperation.Begin:
                    return Begin();
                case TransactionOperation.Commit:
                    return await CommitAsync(request);
                case TransactionOperation.Rollback:
                    var id = RequireTransactionId(request.TransactionId);
                    if (!_transactions.TryRemove(id, out var removed) || removed.ExpiresAt <= TimeProvider.GetUtcNow())
                    {
                        throw TransactionNotFound(id);
                    }

                    removed.Seal();

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

    /// <summary>Drops expired transactions (their statements go with them); returns what the open ones still queue.</summary>
    private long SweepTransactions()
    {
        var now = TimeProvider.GetUtcNow();
        long queued = 0;
        foreach (var (key, open) in _transactions)
        {
            if (open.ExpiresAt <= now)
            {
                _transactions.TryRemove(key, out _);
            }
            else
            {
                queued += open.Bytes;
            }
        }

        return queued;
    }

    private TransactionResult Begin()
    {
        var now = TimeProvider.GetUtcNow();
        SweepTransactions();

        if (_transactions.Count >= MaxOpenTransactions)
        {
            throw new ShardException(ShardErrorCode.Overloaded, $"The shard has {MaxOpenTransactions} open transactions; commit or roll back some first.");
        }

        var transaction = new InteractiveTransaction(Guid.NewGuid().ToString("N"), now + _options.TransactionTimeout);
        _transactions[transaction.Id] = transaction;
        return new TransactionResult(transaction.Id, transaction.ExpiresAt.ToUnixTimeMilliseconds());
    }

    private async Task<TransactionResult> CommitAsync(TransactionRequest request)
    {
        var id = RequireTransactionId(request.TransactionId);
        if (!_transactions.TryRemove(id, out var transaction) || transaction.ExpiresAt <= TimeProvider.GetUtcNow())
        {
            // A retried COMMIT whose first attempt committed: its idempotency key still answers.
            if (request.IdempotencyKey is { } key && await _writer.FindIdempotentAsync(key, IdempotencyHash.OfCommit(id)) is { } replay)
            {
                return new TransactionResult(id, Results: replay.Results, Bookmark: BookmarkOf(replay.Sequence));
            }

            throw TransactionNotFound(id);
        }

        var statements = transaction.Seal();
        if (statements.Count == 0)
        {
            return new TransactionResult(id, Results: [], Bookmark: BookmarkOf(_writer.Sequence));
        }

        var outcome = await WriteAsync(new WriteWork(WriteKind.Atomic, statements, request.IdempotencyKey, requestHash: IdempotencyHash.OfCommit(id)) { NoGrowth = transaction.NoGrowth });
        return new TransactionResult(id, Results: outcome.Results, Bookmark: BookmarkOf(outcome.Sequence));
    }

    /// <summary>Validates the statement now (it must prepare under the tenant write rules) and queues it.</summary>
    private async Task QueueInTransactionAsync(string transactionId, Statement statement, bool noGrowth, CancellationToken cancellationToken)
    {
        if (!_transactions.TryGetValue(transactionId, out var transaction) || transaction.ExpiresAt <= TimeProvider.GetUtcNow())
        {
            throw TransactionNotFound(transactionId);
        }

        if (transaction.Count >= _options.MaxTransactionStatements)
        {
            throw new ShardException(ShardErrorCode.PayloadTooLarge, $"A transaction holds at most {_options.MaxTransactionStatements} statements.");
        }

        // Queued statements live in the silo's memory until COMMIT: bounded per transaction and per shard.
        var size = InteractiveTransaction.SizeOf(statement);
        if (transaction.Bytes + size > MaxTransactionBytes)
        {
            throw new ShardException(ShardErrorCode.PayloadTooLarge, $"A transaction queues at most {MaxTransactionBytes / (1024 * 1024)} MiB of statements and values; commit it and continue in another.");
        }

        if (SweepTransactions() + size > MaxQueuedTransactionBytes)
        {
            throw new ShardException(ShardErrorCode.Overloaded, $"The shard's open transactions queue {MaxQueuedTransactionBytes / (1024 * 1024)} MiB already; commit or roll back some first.");
        }

        var reader = await _readers.RentAsync(cancellationToken);
        try
        {
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

        if (!transaction.TryAdd(statement, noGrowth))
        {
            // COMMIT or ROLLBACK ended the transaction while this statement was being validated.
            throw TransactionNotFound(transactionId);
        }
    }

    private static string RequireTransactionId(string? id) =>
        string.IsNullOrEmpty(id)
            ? throw new ShardException(ShardErrorCode.InvalidArgument, "COMMIT and ROLLBACK need a transactionId.")
            : id;

    private ShardException TransactionNotFound(string id) =>
        _abortedByRestore.ContainsKey(id)
            ? new(ShardErrorCode.TxNotFound, $"Transaction {id} was aborted by a point-in-time restore of the shard; begin a new one.")
            : new(ShardErrorCode.TxNotFound, $"Transaction {id} is unknown, expired, or already ended.");
}
