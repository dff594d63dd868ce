using OrleansShards.Grains.Diagnostics;
using OrleansShards.Grains.Storage;
using OrleansShards.Grains.Writes;

namespace OrleansShards.Grains.TableShards;

internal sealed partial class TableShardGrain
{
    public Task<MutationResult> MutateAsync(MutationRequest request, CancellationToken cancellationToken = default) =>
        MutateAsync(request, keyCheck: null, cancellationToken);

    /// <summary>A write the routing grain of a sharded table sent here by its <c>shardKey</c>: every row it touches must carry that key.</summary>
    public Task<MutationResult> MutateRoutedAsync(MutationRequest request, ShardKeyCheck keyCheck, CancellationToken cancellationToken = default) =>
        MutateAsync(request, RuleOf(keyCheck ?? throw new ArgumentNullException(nameof(keyCheck))), cancellationToken);

    /// <summary>A batch the routing grain sent here by its <c>shardKey</c> (see <see cref="MutateRoutedAsync"/>).</summary>
    public Task<BatchResult> BatchRoutedAsync(BatchRequest request, ShardKeyCheck keyCheck, CancellationToken cancellationToken = default) =>
        BatchAsync(request, RuleOf(keyCheck ?? throw new ArgumentNullException(nameof(keyCheck))), cancellationToken);

    private async Task<MutationResult> MutateAsync(MutationRequest request, ShardKeyRule? keyCheck, CancellationToken cancellationToken)
    {
        try
        {
            ArgumentNullException.ThrowIfNull(request);
            RequireSql(request.Query);
            if (_router is { } router)
            {
                return await router.MutateAsync(request, cancellationToken);
            }

            var statement = new Statement(request.Query, request.Params);
            if (request.TransactionId is { } transactionId)
            {
                if (request.IdempotencyKey is not null)
                {
                    // A queued statement runs at COMMIT: a key on it would protect nothing (a retry would queue it again).
                    throw new ShardException(ShardErrorCode.InvalidArgument,
                        "idempotencyKey is not taken on a statement queued in a transaction; send it with the COMMIT, which applies the transaction once.");
                }

                await QueueInTransactionAsync(transactionId, statement, request.NoGrowth, cancellationToken);
                return new MutationResult(0, 0, null, Queued: true);
            }

            var outcome = await WriteAsync(new WriteWork(WriteKind.Mutation, [statement], request.IdempotencyKey) { KeyCheck = keyCheck, NoGrowth = request.NoGrowth });
            var result = outcome.Results is [var first, ..] ? first : new StatementResult(0, 0);
            return new MutationResult(result.Changes, result.LastInsertRowId, BookmarkOf(outcome.Sequence));
        }
        catch (ShardException ex) when (CountError(ex))
        {
            throw;
        }
    }

    public Task<BatchResult> BatchAsync(BatchRequest request, CancellationToken cancellationToken = default) =>
        BatchAsync(request, keyCheck: null, cancellationToken);

    private async Task<BatchResult> BatchAsync(BatchRequest request, ShardKeyRule? keyCheck, CancellationToken cancellationToken)
    {
        try
        {
            ArgumentNullException.ThrowIfNull(request);
            if (request.Statements is not { Count: > 0 })
            {
                throw new ShardException(ShardErrorCode.InvalidArgument, "batch needs at least one statement.");
            }

            foreach (var statement in request.Statements)
            {
                RequireSql(statement?.Query);
            }

            if (_router is { } router)
            {
                return await router.BatchAsync(request, cancellationToken);
            }

            var outcome = await WriteAsync(new WriteWork(WriteKind.Atomic, request.Statements, request.IdempotencyKey) { KeyCheck = keyCheck, NoGrowth = request.NoGrowth });
            return new BatchResult(outcome.Results, BookmarkOf(outcome.Sequence));
        }
        catch (ShardException ex) when (CountError(ex))
        {
            throw;
        }
    }

    /// <summary>DDL is an exclusive turn: no read or write of the shard runs beside a schema change.</summary>
    public async Task<DdlResult> DdlAsync(DdlRequest request, CancellationToken cancellationToken = default)
    {
        try
        {
            ArgumentNullException.ThrowIfNull(request);
            RequireSql(request.Query);
            RejectDuringOperation("DDL");
            if (_router is { } router)
            {
                return await RouteDdlAsync(router, request, cancellationToken);
            }

            var outcome = await WriteAsync(new WriteWork(WriteKind.Ddl, [new Statement(request.Query)]) { NoGrowth = request.NoGrowth });
            _readers.ClearPlanCaches();
            _coherence.TableInfo = null;
            await _pitr.AfterDdlAsync(request.Query, outcome.Sequence, _writer.LoggedBytes);
            return new DdlResult(true, BookmarkOf(outcome.Sequence));
        }
        catch (ShardException) when (_createdByOpen && _writer.Sequence == 0 && !IsSharded)
        {
            // The DDL that was to create the table failed: the table still does not exist, and nothing stays behind.
            await DiscardCreatedAsync();
            throw;
        }
        catch (ShardException ex) when (CountError(ex))
        {
            throw;
        }
    }

    /// <summary>
    /// Removes the file this activation created for a DDL that failed (no commit was made): the cache loop stops, the
    /// files, the size entry and the reminder go, and the activation with them. Calls that reach it meanwhile answer
    /// <c>RETRYABLE</c> (the next activation answers as the files say).
    /// </summary>
    private async Task DiscardCreatedAsync()
    {
        _capacityTimer?.Dispose();
        _idleTimer?.Dispose();
        await CloseCacheAsync();
        await DestroyAsync();
        _open = false;
        _opening = Task.FromException(new ShardException(ShardErrorCode.Retryable, $"Table {_table} was not created; retry."));
        _ = _opening.Exception;
    }

    private async Task<WriteOutcome> WriteAsync(WriteWork work)
    {
        var outcome = await _writer.EnqueueAsync(work);
        if (!outcome.Replayed)
        {
            var tags = ShardMetrics.ShardTag(_shard);
            _metrics.Statements.Add(work.Statements.Count, tags);
            long written = 0;
            foreach (var result in outcome.Results)
            {
                written += result.Changes;
            }

            _metrics.RowsWritten.Add(written, tags);
            Interlocked.Add(ref _statements, work.Statements.Count);
        }

        return outcome;
    }

    private void CountPlanCache(bool hit)
    {
        var tags = ShardMetrics.ShardTag(_shard);
        (hit ? _metrics.PlanCacheHits : _metrics.PlanCacheMisses).Add(1, tags);
    }
}
