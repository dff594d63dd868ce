namespace OrleansShards.Grains.Storage;

/// <summary>
/// The "plan cache": an LRU of prepared statements of one connection, keyed by SQL text. Not thread
/// safe; each connection is used by one caller at a time. Evicted statements are finalized.
/// </summary>
internal sealed class PlanCache : IDisposable
{
    private readonly Dictionary<string, LinkedListNode<PreparedStatement>> _map = new(StringComparer.Ordinal);
    private readonly LinkedList<PreparedStatement> _lru = new();
    private readonly int _capacity;

    public PlanCache(int capacity) => _capacity = Math.Max(1, capacity);

    public long Hits { get; private set; }

    public long Misses { get; private set; }

    public int Count => _map.Count;

    public bool TryGet(string sql, out PreparedStatement statement)
    {
        if (_map.TryGetValue(sql, out var node))
        {
            _lru.Remove(node);
            _lru.AddFirst(node);
            Hits++;
            statement = node.Value;
            return true;
        }

        Misses++;
        statement = null!;
        return false;
    }

    public void Add(PreparedStatement statement)
    {
        if (_map.ContainsKey(statement.Sql))
        {
            statement.Dispose();
            return;
        }

        _map[statement.Sql] = _lru.AddFirst(statement);
        while (_map.Count > _capacity)
        {
            var last = _lru.Last!;
            _lru.RemoveLast();
            _map.Remove(last.Value.Sql);
            last.Value.Dispose();
        }
    }

    /// <summary>Finalizes every statement (after schema changes or before closing).</summary>
    public void Clear()
    {
        foreach (var statement in _lru)
        {
            statement.Dispose();
        }

        _lru.Clear();
        _map.Clear();
    }

    public void Dispose() => Clear();
}
