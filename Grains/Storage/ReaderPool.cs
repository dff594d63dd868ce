using System.Collections.Concurrent;
using System.Diagnostics;

namespace OrleansShards.Grains.Storage;

/// <summary>
/// A small pool of read-only connections serving concurrent reads. At most <c>size</c> connections
/// exist; a reader waits (asynchronously) when all are in use. Each has its own plan cache. Connections are
/// opened on first need and closed once idle (<see cref="CloseIdle(TimeSpan)"/>), so an idle shard holds only its writer's files.
/// </summary>
internal sealed class ReaderPool : IDisposable
{
    private readonly ConcurrentStack<(ShardConnection Connection, long ReturnedAt)> _idle = [];
    private readonly ConcurrentDictionary<ShardConnection, byte> _all = [];
    private readonly SemaphoreSlim _slots;
    private readonly Func<ValueTask<ShardConnection>> _open;
    private readonly Action<ShardConnection>? _closed;
    private volatile bool _disposed;

    /// <summary>Creates the pool; <paramref name="closed"/> is told about every connection it closes.</summary>
    public ReaderPool(int size, Func<ValueTask<ShardConnection>> open, Action<ShardConnection>? closed = null)
    {
        _slots = new SemaphoreSlim(size, size);
        _open = open;
        _closed = closed;
    }

    public long PlanCacheHits => _all.Keys.Sum(c => c.PlanCache.Hits);

    public long PlanCacheMisses => _all.Keys.Sum(c => c.PlanCache.Misses);

    /// <summary>Reader connections open now (idle or in use).</summary>
    public int OpenCount => _all.Count;

    public async ValueTask<ShardConnection> RentAsync(CancellationToken cancellationToken)
    {
        await _slots.WaitAsync(cancellationToken).ConfigureAwait(false);
        ObjectDisposedException.ThrowIf(_disposed, this);
        return await TakeAsync().ConfigureAwait(false);
    }

    /// <summary>A connection if one is free now (opening it if need be), else null: never waits for another reader.</summary>
    public async ValueTask<ShardConnection?> TryRentAsync()
    {
        if (_disposed || !_slots.Wait(0))
        {
            return null;
        }

        if (_disposed)
        {
            _slots.Release();
            return null;
        }

        return await TakeAsync().ConfigureAwait(false);
    }

    /// <summary>With a slot taken: the most recently returned connection, else a new one (the slot is given back if opening fails).</summary>
    private async ValueTask<ShardConnection> TakeAsync()
    {
        // The most recently returned first: the others stay idle long enough to be closed.
        if (_idle.TryPop(out var idle))
        {
            return idle.Connection;
        }

        ShardConnection connection;
        try
        {
            connection = await _open().ConfigureAwait(false);
        }
        catch
        {
            _slots.Release();
            throw;
        }

        _all[connection] = 0;
        return connection;
    }

    public void Return(ShardConnection connection)
    {
        connection.ClearDeadline();
        if (_disposed)
        {
            Close(connection);
        }
        else
        {
            _idle.Push((connection, Stopwatch.GetTimestamp()));
        }

        _slots.Release();
    }

    /// <summary>Drops every prepared statement (after a schema change or restore).</summary>
    public void ClearPlanCaches()
    {
        foreach (var (connection, _) in _idle)
        {
            connection.PlanCache.Clear();
        }
    }

    /// <summary>Closes the connections idle for at least <paramref name="idleFor"/>; the others stay. Safe beside reads.</summary>
    public int CloseIdle(TimeSpan idleFor)
    {
        var kept = new List<(ShardConnection, long)>();
        var closed = 0;
        while (_idle.TryPop(out var entry))
        {
            if (Stopwatch.GetElapsedTime(entry.ReturnedAt) >= idleFor)
            {
                Close(entry.Connection);
                closed++;
            }
            else
            {
                kept.Add(entry);
            }
        }

        // Back in their order (oldest at the bottom of the stack).
        for (var i = kept.Count - 1; i >= 0; i--)
        {
            _idle.Push(kept[i]);
        }

        return closed;
    }

    /// <summary>Closes every idle connection; in-use ones close when returned.</summary>
    public void CloseIdle() => CloseIdle(TimeSpan.Zero);

    public void Dispose()
    {
        _disposed = true;
        CloseIdle();
    }

    private void Close(ShardConnection connection)
    {
        _all.TryRemove(connection, out _);
        connection.Dispose();
        _closed?.Invoke(connection);
    }
}
