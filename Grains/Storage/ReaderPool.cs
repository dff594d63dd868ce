using System.Collections.Concurrent;

namespace OrleansShards.Grains.Storage;

/// <summary>
/// A small pool of read-only connections serving concurrent reads. At most <c>size</c> connections
/// exist; a reader waits (asynchronously) when all are in use. Each has its own plan cache.
/// </summary>
internal sealed class ReaderPool : IDisposable
{
    private readonly ConcurrentBag<ShardConnection> _idle = [];
    private readonly ConcurrentBag<ShardConnection> _all = [];
    private readonly SemaphoreSlim _slots;
    private readonly Func<ShardConnection> _open;
    private volatile bool _disposed;

    public ReaderPool(int size, Func<ShardConnection> open)
    {
        _slots = new SemaphoreSlim(size, size);
        _open = open;
    }

    public long PlanCacheHits => _all.Sum(c => c.PlanCache.Hits);

    public long PlanCacheMisses => _all.Sum(c => c.PlanCache.Misses);

    public async ValueTask<ShardConnection> RentAsync(CancellationToken cancellationToken)
    {
        await _slots.WaitAsync(cancellationToken).ConfigureAwait(false);
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_idle.TryTake(out var connection))
        {
            return connection;
        }

        try
        {
            connection = _open();
        }
        catch
        {
            _slots.Release();
            throw;
        }

        _all.Add(connection);
        return connection;
    }

    public void Return(ShardConnection connection)
    {
        connection.ClearDeadline();
        if (_disposed)
        {
            connection.Dispose();
        }
        else
        {
            _idle.Add(connection);
        }

        _slots.Release();
    }

    /// <summary>Drops every prepared statement (after a schema change or restore).</summary>
    public void ClearPlanCaches()
    {
        foreach (var connection in _idle)
        {
            connection.PlanCache.Clear();
        }
    }

    /// <summary>Closes idle connections; in-use ones close when returned. Callers hold an exclusive turn, so none are in use.</summary>
    public void CloseIdle()
    {
        while (_idle.TryTake(out var connection))
        {
            connection.Dispose();
        }

        _all.Clear();
    }

    public void Dispose()
    {
        _disposed = true;
        CloseIdle();
    }
}
