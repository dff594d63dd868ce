namespace OrleansShards.Grains.Caching;

/// <summary>
/// Approximate most-read row lookups of one shard (a bounded counter map, halved when it fills),
/// for refresh-ahead after an invalidation and re-warming when the shard activates.
/// </summary>
internal sealed class HotKeys(int capacity)
{
    private readonly Dictionary<string, (RowLookup Lookup, long Count)> _counts = new(StringComparer.Ordinal);

    public void Touch(string key, RowLookup lookup)
    {
        if (capacity == 0)
        {
            return;
        }

        lock (_counts)
        {
            _counts[key] = (lookup, _counts.TryGetValue(key, out var current) ? current.Count + 1 : 1);
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

    public bool TryGet(string key, out RowLookup lookup)
    {
        lock (_counts)
        {
            if (_counts.TryGetValue(key, out var entry) && Top().Any(t => t.Key == key))
            {
                lookup = entry.Lookup;
                return true;
            }
        }

        lookup = default;
        return false;
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
