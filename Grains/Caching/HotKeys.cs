namespace OrleansShards.Grains.Caching;

/// <summary>
/// Approximate most-read row lookups of one shard (a bounded counter map, halved when it fills),
/// for refresh-ahead after an invalidation and re-warming when the shard activates.
/// </summary>
internal sealed class HotKeys(int capacity)
{
    private readonly Dictionary<string, (RowLookup Lookup, long Count)> _counts = new(StringComparer.Ordinal);
    private Dictionary<string, RowLookup> _top = new(StringComparer.Ordinal);
    private long _topAt = -1_000_000;

    public void Touch(string key, RowLookup lookup)
    {
        if (capacity == 0)
        {
            return;
        }

        lock (_counts)
        {
            var known = _counts.TryGetValue(key, out var current);
            _counts[key] = (lookup, known ? current.Count + 1 : 1);
            if (!known && _top.Count < capacity)
            {
                // Room in the top set: a new key belongs there now, not at the next 100 ms refresh.
                Volatile.Write(ref _topAt, -1_000_000);
            }

            if (_counts.Count > capacity * 4)
            {
                foreach (var (k, v) in _counts.ToList())
                {
                    if (v.Count / 2 == 0)
                    {
                        _counts.Remove(k);
                    }
                    else
                    {
                        _counts[k] = (v.Lookup, v.Count / 2);
                    }
                }
            }
        }
    }

    /// <summary>The top keys as of at most 100 ms ago (sorting on every commit would tax the writer).</summary>
    public IReadOnlyDictionary<string, RowLookup> TopSnapshot()
    {
        var now = Environment.TickCount64;
        if (now - Volatile.Read(ref _topAt) > 100)
        {
            _top = Top().ToDictionary(t => t.Key, t => t.Lookup, StringComparer.Ordinal);
            Volatile.Write(ref _topAt, now);
        }

        return _top;
    }

    public List<(string Key, RowLookup Lookup)> Top()
    {
        lock (_counts)
        {
            return _counts.OrderByDescending(kv => kv.Value.Count).Take(capacity).Select(kv => (kv.Key, kv.Value.Lookup)).ToList();
        }
    }
}

/// <summary>A row lookup: by primary key (<see cref="Column"/> null) or by an indexed column's value.</summary>
internal readonly record struct RowLookup(string? Column, SqlValue Value);
