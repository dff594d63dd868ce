using System.Collections.Concurrent;

namespace OrleansShards.Grains.TableShards;

/// <summary>
/// The open interactive transactions of one shard: begun, queued into, ended by COMMIT or ROLLBACK, expired after the
/// transaction timeout, or aborted by what changes the shard under them (a restore, a move to another silo) — an
/// aborted one answers <c>TX_NOT_FOUND</c> naming why until it would have expired. Holds the memory bounds: open
/// transactions per shard, bytes per transaction, bytes queued per shard. Thread-safe; a plain class, tested without a
/// silo. Statements are validated and committed by the grain (readers, writer); this class only holds them.
/// </summary>
internal sealed class OpenTransactions(TimeProvider time, TimeSpan timeout, int maxStatements)
{
    /// <summary>The most transactions one shard keeps open.</summary>
    public const int MaxOpen = 1000;

    /// <summary>The most one open transaction may queue (estimated bytes of its statements and values).</summary>
    public const long MaxTransactionBytes = 8L * 1024 * 1024;

    /// <summary>The most a shard's open transactions may queue together: beyond, queuing answers OVERLOADED until some end.</summary>
    public const long MaxQueuedBytes = 32L * 1024 * 1024;

    private readonly ConcurrentDictionary<string, InteractiveTransaction> _open = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, (DateTimeOffset Until, string Why)> _aborted = new(StringComparer.Ordinal);

    /// <summary>Transactions open now (expired ones included until swept).</summary>
    public int Count => _open.Count;

    public bool IsEmpty => _open.IsEmpty;

    /// <summary>Opens a transaction; <c>OVERLOADED</c> when <see cref="MaxOpen"/> are open.</summary>
    public InteractiveTransaction Begin()
    {
        Sweep();
        if (_open.Count >= MaxOpen)
        {
            throw new ShardException(ShardErrorCode.Overloaded, $"The shard has {MaxOpen} open transactions; commit or roll back some first.");
        }

        var transaction = new InteractiveTransaction(Guid.NewGuid().ToString("N"), time.GetUtcNow() + timeout);
        _open[transaction.Id] = transaction;
        return transaction;
    }

    /// <summary>
    /// The open transaction <paramref name="id"/> if <paramref name="statement"/> may be queued into it (its statement
    /// count and bytes, and the shard's queued bytes, stay within bounds); the caller validates the statement, then
    /// queues it with <see cref="Queue"/>.
    /// </summary>
    public InteractiveTransaction ForQueue(string id, Statement statement)
    {
        var transaction = Find(id) ?? throw NotFound(id);
        if (transaction.Count >= maxStatements)
        {
            throw new ShardException(ShardErrorCode.PayloadTooLarge, $"A transaction holds at most {maxStatements} statements.");
        }

        // Queued statements live in the silo's memory until COMMIT: bounded per transaction and per shard.
        var size = InteractiveTransaction.SizeOf(statement);
        if (transaction.Bytes + size > MaxTransactionBytes)
        {
            throw new ShardException(ShardErrorCode.PayloadTooLarge,
                $"A transaction queues at most {MaxTransactionBytes / (1024 * 1024)} MiB of statements and values; commit it and continue in another.");
        }

        if (Sweep() + size > MaxQueuedBytes)
        {
            throw new ShardException(ShardErrorCode.Overloaded,
                $"The shard's open transactions queue {MaxQueuedBytes / (1024 * 1024)} MiB already; commit or roll back some first.");
        }

        return transaction;
    }

    /// <summary>Queues a validated statement; <c>TX_NOT_FOUND</c> when the transaction ended meanwhile (never silently dropped).</summary>
    public void Queue(InteractiveTransaction transaction, Statement statement, bool noGrowth)
    {
        if (!transaction.TryAdd(statement, noGrowth) || !_open.ContainsKey(transaction.Id))
        {
            throw NotFound(transaction.Id);
        }
    }

    /// <summary>Ends <paramref name="id"/> for COMMIT or ROLLBACK and returns it sealed; null when it is not open (unknown, expired, ended, aborted).</summary>
    public InteractiveTransaction? TryEnd(string id)
    {
        if (!_open.TryRemove(id, out var transaction))
        {
            return null;
        }

        transaction.Seal();
        return transaction.ExpiresAt > time.GetUtcNow() ? transaction : null;
    }

    /// <summary>
    /// Opens again, unchanged, a transaction whose COMMIT ran nothing (its idempotency key belonged to another request),
    /// unless it expired meanwhile; its statements are kept.
    /// </summary>
    public void Reopen(InteractiveTransaction ended)
    {
        if (ended.ExpiresAt > time.GetUtcNow())
        {
            _open.TryAdd(ended.Id, ended.Reopened());
        }
    }

    /// <summary>
    /// Aborts every open transaction because <paramref name="why"/> (a restore, a move): each answers <c>TX_NOT_FOUND</c>
    /// saying so until it would have expired.
    /// </summary>
    public void AbortAll(string why)
    {
        var now = time.GetUtcNow();
        foreach (var (id, aborted) in _aborted)
        {
            if (aborted.Until <= now)
            {
                _aborted.TryRemove(id, out _);
            }
        }

        foreach (var (id, transaction) in _open)
        {
            if (_open.TryRemove(id, out _))
            {
                transaction.Seal();
                if (transaction.ExpiresAt > now)
                {
                    _aborted[id] = (transaction.ExpiresAt, why);
                }
            }
        }
    }

    /// <summary>Drops every open transaction (the activation ends, or a sharding switch: their statements aimed at the old layout).</summary>
    public void Clear()
    {
        foreach (var (id, transaction) in _open)
        {
            if (_open.TryRemove(id, out _))
            {
                transaction.Seal();
            }
        }
    }

    /// <summary>The error for a transaction that is not open: why it was aborted, if it was.</summary>
    public ShardException NotFound(string id) =>
        _aborted.TryGetValue(id, out var aborted) && aborted.Until > time.GetUtcNow()
            ? new(ShardErrorCode.TxNotFound, $"Transaction {id} was aborted by {aborted.Why}; begin a new one.")
            : new(ShardErrorCode.TxNotFound, $"Transaction {id} is unknown, expired, or already ended.");

    private InteractiveTransaction? Find(string id) =>
        _open.TryGetValue(id, out var transaction) && transaction.ExpiresAt > time.GetUtcNow() ? transaction : null;

    /// <summary>Drops expired transactions (their statements go with them); returns what the open ones still queue.</summary>
    private long Sweep()
    {
        var now = time.GetUtcNow();
        long queued = 0;
        foreach (var (id, open) in _open)
        {
            if (open.ExpiresAt <= now)
            {
                if (_open.TryRemove(id, out _))
                {
                    open.Seal();
                }
            }
            else
            {
                queued += open.Bytes;
            }
        }

        return queued;
    }
}
