using System.Collections.Concurrent;

namespace OrleansShards.Grains.Caching;

/// <summary>
/// The in-process cache store (embedded default). Compare-and-set runs under one of a fixed set of
/// striped locks chosen by the key's hash, so writes to one key are serialized and reads take no lock.
/// Expiry follows the injected <see cref="TimeProvider"/>; past <c>maxEntries</c> expired entries are
/// swept first, then arbitrary ones.
/// </summary>
public sealed class MemoryCacheStore : ICacheStore
{
    private const int Stripes = 64;
    private readonly ConcurrentDictionary<string, Slot> _slots = new(StringComparer.Ordinal);
    private readonly object[] _locks = Enumerable.Range(0, Stripes).Select(_ => new object()).ToArray();
    private readonly TimeProvider _time;
    private readonly int _maxEntries;
    private int _sweeping;

    // Writes since the last sweep, and how many must pass before the next one: a sweep reads every slot, so
    // it runs at most once per (slots left after the previous sweep) / 10 writes. Without that, a store full
    // of unexpired tombstones (a burst of writes: every changed key leaves one for an entry's lifetime)
    // swept everything on every write and freed nothing.
    private long _writesSinceSweep;
    private long _writesBeforeSweep;

    public MemoryCacheStore(TimeProvider time, int maxEntries = 100_000)
    {
        ArgumentNullException.ThrowIfNull(time);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxEntries, 1);
        _time = time;
        _maxEntries = maxEntries;
    }

    public string Kind => "memory";

    /// <summary>Sweeps run so far (each reads every slot).</summary>
    internal long Sweeps { get; private set; }

    /// <summary>Entries held, expired ones included until swept.</summary>
    public int Count => _slots.Count;

    public Task<CacheEntry?[]> GetManyAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(keys);
        var now = NowMs;
        var result = new CacheEntry?[keys.Count];
        for (var i = 0; i < keys.Count; i++)
        {
            if (_slots.TryGetValue(keys[i], out var slot) && slot.ExpiresAtMs > now && slot.Entry is { } entry)
            {
                result[i] = entry;
            }
        }

        return Task.FromResult(result);
    }

    public Task<int> SetManyAsync(IReadOnlyList<CacheWrite> writes, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(writes);
        var now = NowMs;
        var written = 0;
        foreach (var write in writes)
        {
            lock (LockOf(write.Key))
            {
                if (_slots.TryGetValue(write.Key, out var slot) && slot.ExpiresAtMs > now && slot.Entry is { } existing && existing.Sequence > write.Sequence)
                {
                    continue;
                }

                _slots[write.Key] = new Slot(new CacheEntry(write.Value, write.Sequence, write.StoredAtUnixMs, false), now + (long)write.Lifetime.TotalMilliseconds);
                written++;
            }
        }

        TrimIfNeeded();
        return Task.FromResult(written);
    }

    public Task InvalidateManyAsync(IReadOnlyList<string> keys, long sequence, TimeSpan tombstoneLifetime, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(keys);
        var now = NowMs;
        var tombstone = new CacheEntry([], sequence, now, true);
        foreach (var key in keys)
        {
            lock (LockOf(key))
            {
                if (_slots.TryGetValue(key, out var slot) && slot.ExpiresAtMs > now && slot.Entry is { } existing && existing.Sequence >= sequence)
                {
                    continue;
                }

                _slots[key] = new Slot(tombstone, now + (long)tombstoneLifetime.TotalMilliseconds);
            }
        }

        TrimIfNeeded();
        return Task.CompletedTask;
    }

    public Task<long> RemoveByPrefixAsync(string prefix, long sequence, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(prefix);
        var now = NowMs;
        long removed = 0;
        foreach (var key in _slots.Keys)
        {
            if (!key.StartsWith(prefix, StringComparison.Ordinal))
            {
                continue;
            }

            // Under the key's lock, as a populate's compare-and-set: an entry at or above the flush's sequence stays.
            lock (LockOf(key))
            {
                if (_slots.TryGetValue(key, out var slot)
                    && !(slot.ExpiresAtMs > now && slot.Entry is { } existing && existing.Sequence >= sequence)
                    && _slots.TryRemove(key, out _))
                {
                    removed++;
                }
            }
        }

        return Task.FromResult(removed);
    }

    private long NowMs => _time.GetUtcNow().ToUnixTimeMilliseconds();

    private object LockOf(string key) => _locks[(key.GetHashCode() & int.MaxValue) % Stripes];

    private void TrimIfNeeded()
    {
        if (Interlocked.Increment(ref _writesSinceSweep) < Volatile.Read(ref _writesBeforeSweep)
            || _slots.Count <= _maxEntries
            || Interlocked.Exchange(ref _sweeping, 1) == 1)
        {
            return;
        }

        try
        {
            Interlocked.Exchange(ref _writesSinceSweep, 0);
            Sweeps++;
            var now = NowMs;
            foreach (var (key, slot) in _slots)
            {
                if (slot.ExpiresAtMs <= now)
                {
                    _slots.TryRemove(new KeyValuePair<string, Slot>(key, slot));
                }
            }

            // Still full: drop about a tenth, in dictionary order (no recency is tracked on the hot path).
            // Tombstones stay until they expire: dropping one would let a late populate of older
            // state through (the read/invalidate race).
            var excess = _slots.Count - (_maxEntries - (_maxEntries / 10));
            foreach (var (key, slot) in _slots)
            {
                if (excess <= 0)
                {
                    break;
                }

                if (slot.Entry is { IsTombstone: true })
                {
                    continue;
                }

                if (_slots.TryRemove(new KeyValuePair<string, Slot>(key, slot)))
                {
                    excess--;
                }
            }

            Volatile.Write(ref _writesBeforeSweep, Math.Max(1, _slots.Count / 10));
        }
        finally
        {
            Volatile.Write(ref _sweeping, 0);
        }
    }

    private sealed record Slot(CacheEntry? Entry, long ExpiresAtMs);
}
