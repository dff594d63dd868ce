namespace OrleansShards.Grains.Caching;

/// <summary>
/// Keys of this shard changed by commits whose invalidation is not yet applied. A cached read of
/// such a key uses only an entry at least as new as that commit (e.g. one refreshed ahead), else it
/// goes to the shard, so no read sees an entry its own shard knows is stale — including
/// after a cache outage, when entries written before it may still be in the store. A key leaves
/// the set once the invalidator's watermark reaches its commit, or once the commit is older than an
/// entry's lifetime (every entry that could predate it has expired by then).
/// </summary>
internal sealed class PendingKeys
{
    private readonly Dictionary<string, (long Sequence, long AtUnixMs)> _keys = new(StringComparer.Ordinal);
    private readonly Queue<(long Sequence, long AtUnixMs, bool Flush, string[] Keys)> _events = new();
    private long _flushUntilSequence;

    public int Count
    {
        get
        {
            lock (_keys)
            {
                return _keys.Count;
            }
        }
    }

    /// <summary>
    /// Adds a commit's keys; first drops commits already applied or older than an entry's lifetime, so a
    /// shard that is written and never read does not hold every key it ever changed.
    /// </summary>
    public void Add(InvalidationEvent invalidation, long appliedThrough, long horizonMs)
    {
        lock (_keys)
        {
            Prune(appliedThrough, horizonMs);
            foreach (var key in invalidation.Keys)
            {
                _keys[key] = (invalidation.Sequence, invalidation.CommittedAtUnixMs);
            }

            if (invalidation.Flush)
            {
                _flushUntilSequence = Math.Max(_flushUntilSequence, invalidation.Sequence);
            }

            _events.Enqueue((invalidation.Sequence, invalidation.CommittedAtUnixMs, invalidation.Flush, [.. invalidation.Keys]));
        }
    }

    /// <summary>
    /// The sequence a cached entry of <paramref name="key"/> must reach to be used (the newest commit
    /// that changed it and is not yet applied), or 0 when none is pending.
    /// </summary>
    public long RequiredSequence(string key, long appliedThrough, long nowMs, long lifetimeMs)
    {
        lock (_keys)
        {
            Prune(appliedThrough, nowMs - lifetimeMs);
            var required = _flushUntilSequence > appliedThrough ? _flushUntilSequence : 0;
            return _keys.TryGetValue(key, out var pending) ? Math.Max(required, pending.Sequence) : required;
        }
    }

    private void Prune(long appliedThrough, long horizonMs)
    {
        while (_events.TryPeek(out var head) && (head.Sequence <= appliedThrough || head.AtUnixMs < horizonMs))
        {
            _events.Dequeue();
            foreach (var key in head.Keys)
            {
                if (_keys.TryGetValue(key, out var entry) && entry.Sequence <= head.Sequence)
                {
                    _keys.Remove(key);
                }
            }

            if (head.Flush && _flushUntilSequence <= head.Sequence)
            {
                _flushUntilSequence = 0;
            }
        }
    }
}
