namespace OrleansShards.Grains.Caching;

/// <summary>
/// Whether a row or index entry of the shard may be served from the cache, and so whether a commit needs
/// an invalidation event. A shard that is written and not read through the cache pays for no event (key
/// extraction, outbox row, publish, tombstones); the first populate turns events back on.
/// <para>
/// The rule, with the writer's decision made inside the commit's transaction (before COMMIT) and a
/// populate admitted before it writes to the store:
/// </para>
/// <list type="bullet">
/// <item>A populate admitted with stamp <c>s</c> read at <c>t</c> keeps events on until <c>t + lifetime</c>:
/// past that, its entry is too old to be served (a read uses an entry only while
/// <c>now - storedAt &lt;= lifetime</c>), so commits from then on cannot make it stale.</item>
/// <item>A commit decided without an event (quiet) records its sequence; a populate whose stamp is below
/// it is refused, because its rows may predate that commit, which no event will ever invalidate.
/// Admission still turns events on, so the next read's populate is admitted.</item>
/// </list>
/// Entries written by an earlier activation of the shard were admitted by a window this one does not
/// know; the shard never serves them (see <c>TableShardGrain.TryCacheAsync</c>). Query results need none
/// of this: their key carries the commit sequence, so a commit never makes one stale.
/// </summary>
internal sealed class CacheInterest(TimeSpan entryLifetime)
{
    private readonly Lock _gate = new();
    private readonly long _lifetimeMs = (long)entryLifetime.TotalMilliseconds;
    private long _liveUntilMs = long.MinValue;
    private long _quietThrough;

    /// <summary>The highest commit sequence decided without an event (0 when none).</summary>
    public long QuietThrough
    {
        get
        {
            lock (_gate)
            {
                return _quietThrough;
            }
        }
    }

    /// <summary>
    /// The writer, inside the transaction of commit <paramref name="sequence"/>: true when an admitted entry
    /// may still be served at <paramref name="nowMs"/>, so the commit must carry an invalidation event;
    /// otherwise records the commit as quiet and returns false.
    /// </summary>
    public bool EventsNeeded(long sequence, long nowMs)
    {
        lock (_gate)
        {
            if (nowMs <= _liveUntilMs)
            {
                return true;
            }

            _quietThrough = Math.Max(_quietThrough, sequence);
            return false;
        }
    }

    /// <summary>
    /// A populate of a row or index entry with <paramref name="stamp"/> (the sequence read before the rows),
    /// read at <paramref name="readAtMs"/>: keeps events on for its lifetime, and returns whether it may be
    /// written (false when a commit after its stamp had no event).
    /// </summary>
    public bool TryAdmit(long stamp, long readAtMs)
    {
        lock (_gate)
        {
            _liveUntilMs = Math.Max(_liveUntilMs, readAtMs + _lifetimeMs);
            return stamp >= _quietThrough;
        }
    }
}
