using OrleansShards.Grains.Storage;

namespace OrleansShards.Grains.TableShards;

/// <summary>The silo-local read path (<see cref="LocalShardReads"/>): strong reads served without an Orleans call.</summary>
internal sealed partial class TableShardGrain : LocalShardReads.IReader
{
    private readonly LocalShardReads _localReads;
    private readonly LocalReadGate _localGate = new();

    /// <summary><see cref="Environment.TickCount64"/> of the last call through Orleans (see <see cref="LocalShardReads.KeepAlive"/>).</summary>
    private long _lastCallAt;

    /// <summary>Once open: reads may come by the local path.</summary>
    private void RegisterLocalReads()
    {
        Volatile.Write(ref _lastCallAt, Environment.TickCount64);
        _localReads.Register(_shard, this);
    }

    /// <summary>Before closing: no new local read starts, and those in flight end first.</summary>
    private Task CloseLocalReadsAsync()
    {
        _localReads.Unregister(_shard, this);
        return _localGate.CloseAsync();
    }

    /// <summary>
    /// Whether this activation serves reads as the primary of an unsharded table, with nothing refusing its calls. Read
    /// inside a shared turn, so no exclusive turn (a switch, a restore, a fence) changes it during the read.
    /// </summary>
    private bool ServesLocalReads =>
        _open && !_destroyed && _router is null && _quorumLost is null && !_fenced && _movedTo is null && _refusal is null;

    /// <summary>
    /// Every reader busy: waits for one as a grain read does (readers are held only by reads under their own deadline), up
    /// to <see cref="TableShardOptions.StatementTimeout"/>, then answers <c>TIMEOUT</c> (handing the read to the grain then
    /// would make it wait as long again). Sending the read to the grain at once instead made every burst of concurrent
    /// reads pay an Orleans call for a fifth of them.
    /// </summary>
    private async ValueTask<ShardConnection> WaitForLocalReaderAsync(CancellationToken cancellationToken)
    {
        using var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        wait.CancelAfter(_options.StatementTimeout);
        try
        {
            return await _readers.RentAsync(wait.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new ShardException(ShardErrorCode.Timeout, $"Every reader of {_shard} stayed busy for {_options.StatementTimeout.TotalSeconds:0.###} s; retry.");
        }
    }

    /// <summary>Runs on the caller's thread, never on the grain's scheduler: it touches only what reads touch.</summary>
    async ValueTask<QueryResult?> LocalShardReads.IReader.TryQueryAsync(QueryRequest request, CancellationToken cancellationToken)
    {
        // A caller that gave up gets what an Orleans call gives it: OperationCanceledException, never an answer or TIMEOUT.
        cancellationToken.ThrowIfCancellationRequested();

        // What the grain call does beyond a plain read stays with the grain: bookmarks, the cache, routing by shard key.
        if (request.MinBookmark is not null
            || request.ShardKey is not null
            || (ResolveConsistency(request.Consistency) != Consistency.Strong && CacheOptions.CacheQueries)
            || Environment.TickCount64 - Volatile.Read(ref _lastCallAt) > (long)_localReads.KeepAlive.TotalMilliseconds
            || !_localGate.TryEnter())
        {
            return null;
        }

        try
        {
            var lease = _lease!;
            lease.Enter();
            try
            {
                // Never waits for a turn, so a local read is never held behind DDL, a restore or a switch where the grain
                // call's response timeout would have ended it: a turn held or awaited sends the read to the grain.
                if (!_turns.TryEnterShared())
                {
                    return null;
                }

                try
                {
                    if (!ServesLocalReads)
                    {
                        return null;
                    }

                    RequireSql(request.Query);
                    if ((await _readers.TryRentAsync() ?? await WaitForLocalReaderAsync(cancellationToken)) is not { } reader)
                    {
                        return null;
                    }

                    _localReads.CountServed();
                    try
                    {
                        return await ReadAsync(request.Query, request.Params, cancellationToken, reader);
                    }
                    catch (ShardException) when (cancellationToken.IsCancellationRequested)
                    {
                        // The statement was interrupted because the caller canceled: not a statement timeout.
                        throw new OperationCanceledException(cancellationToken);
                    }
                }
                finally
                {
                    _turns.Exit(shared: true);
                }
            }
            finally
            {
                lease.Exit();
            }
        }
        catch (ShardException ex) when (CountError(ex))
        {
            throw;
        }
        finally
        {
            _localGate.Exit();
        }
    }
}
