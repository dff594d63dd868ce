namespace OrleansShards.Grains.Sharding;

/// <summary>
/// Maps a shard key value to a shard index under a layout. Thread-safe. For <c>roundRobin</c> it holds the recorded
/// key→shard assignments; a key never seen gets the next shard in turn (<see cref="Assign"/> records it, and
/// <see cref="TakeNewAssignments"/> hands the new ones to whoever persists them).
/// </summary>
internal sealed class ShardAssigner
{
    private readonly Lock _lock = new();
    private readonly IShardRouter? _router;
    private readonly Dictionary<string, int> _map;
    private readonly List<KeyValuePair<string, int>> _new = [];
    private long _next;

    public ShardAssigner(ShardLayout layout, IShardRouter? router, Dictionary<string, int>? assignments = null, long next = 0)
    {
        Layout = layout;
        _router = router;
        _map = assignments ?? new Dictionary<string, int>(StringComparer.Ordinal);
        _next = next;
        if (layout.Strategy == ShardStrategies.Custom && router is null)
        {
            throw new ShardException(ShardErrorCode.InvalidArgument, $"No shard router named '{layout.Router}' is registered (AddShardRouter).");
        }
    }

    public ShardLayout Layout { get; }

    public long Next
    {
        get
        {
            lock (_lock)
            {
                return _next;
            }
        }
    }

    public int Assign(SqlValue key)
    {
        var count = Layout.Count;
        switch (Layout.Strategy)
        {
            case ShardStrategies.Hash:
                return ShardHashing.Bucket(key, count);
            case ShardStrategies.Range:
                return RangeIndex(Layout.SplitPoints ?? [], key);
            case ShardStrategies.Custom:
                var shard = _router!.GetShard(key, count);
                return shard >= 0 && shard < count
                    ? shard
                    : throw new ShardException(ShardErrorCode.Internal, $"Shard router '{Layout.Router}' returned {shard}, outside [0, {count}).");
            default:
                var encoded = KeyCodec.Encode(key);
                lock (_lock)
                {
                    if (_map.TryGetValue(encoded, out var known))
                    {
                        return known;
                    }

                    var assigned = (int)(_next++ % count);
                    _map[encoded] = assigned;
                    _new.Add(new(encoded, assigned));
                    return assigned;
                }
        }
    }

    /// <summary>The index of the first split point greater than <paramref name="key"/> (rows below split 0 go to shard 0).</summary>
    public static int RangeIndex(IReadOnlyList<SqlValue> splits, SqlValue key)
    {
        int lo = 0, hi = splits.Count;
        while (lo < hi)
        {
            var mid = (lo + hi) >>> 1;
            if (SqlValueOrder.Instance.Compare(splits[mid], key) <= 0)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }

        return lo;
    }

    /// <summary>Split points at the quantiles of <paramref name="sortedKeys"/>: shard i starts at the key of rank i·n/count.</summary>
    public static List<SqlValue> SplitPoints(IReadOnlyList<SqlValue> sortedKeys, int count)
    {
        var splits = new List<SqlValue>(Math.Max(0, count - 1));
        for (var i = 1; i < count; i++)
        {
            splits.Add(sortedKeys.Count == 0 ? SqlValue.Null : sortedKeys[(int)((long)i * sortedKeys.Count / count)]);
        }

        return splits;
    }

    /// <summary>Every recorded roundRobin assignment.</summary>
    public List<KeyValuePair<string, int>> Assignments()
    {
        lock (_lock)
        {
            return [.. _map];
        }
    }

    /// <summary>Assignments made since the last call (to persist).</summary>
    public List<KeyValuePair<string, int>> TakeNewAssignments()
    {
        lock (_lock)
        {
            var taken = _new.ToList();
            _new.Clear();
            return taken;
        }
    }
}
