namespace OrleansShards.Grains.TableShards;

/// <summary>
/// An open interactive transaction: statements validated and queued until COMMIT. Ending it (COMMIT or
/// ROLLBACK) seals it: a statement queued concurrently with the end is refused, never silently dropped.
/// </summary>
internal sealed class InteractiveTransaction(string id, DateTimeOffset expiresAt)
{
    private readonly List<Statement> _statements = [];
    private bool _sealed;

    public string Id { get; } = id;

    public DateTimeOffset ExpiresAt { get; } = expiresAt;

    private long _bytes;

    /// <summary>The memory its queued statements hold, estimated (<see cref="SizeOf"/>).</summary>
    public long Bytes => Interlocked.Read(ref _bytes);

    /// <summary>An estimate of the memory <paramref name="statement"/> holds while queued: its text and its values.</summary>
    public static long SizeOf(Statement statement)
    {
        long size = 64 + (statement.Query?.Length ?? 0) * 2L;
        foreach (var value in statement.Params ?? [])
        {
            size += value.Kind switch
            {
                SqlValueKind.Text => 24 + value.AsText.Length * 2L,
                SqlValueKind.Blob => 24 + value.AsBlob.Length,
                _ => 16,
            };
        }

        return size;
    }

    public int Count
    {
        get
        {
            lock (_statements)
            {
                return _statements.Count;
            }
        }
    }

    /// <summary>Queues <paramref name="statement"/>; false when the transaction already ended.</summary>
    public bool TryAdd(Statement statement, bool noGrowth = false)
    {
        lock (_statements)
        {
            if (_sealed)
            {
                return false;
            }

            NoGrowth |= noGrowth;
            _statements.Add(statement);
            Interlocked.Add(ref _bytes, SizeOf(statement));
            return true;
        }
    }

    /// <summary>
    /// A statement was queued while its tenant was over its storage quota (let through as a DELETE or DROP): the COMMIT
    /// must not grow the shard.
    /// </summary>
    public bool NoGrowth { get; private set; }

    /// <summary>A new, open transaction with the same id, expiry and statements (see <see cref="OpenTransactions.Reopen"/>).</summary>
    public InteractiveTransaction Reopened()
    {
        var copy = new InteractiveTransaction(Id, ExpiresAt);
        lock (_statements)
        {
            foreach (var statement in _statements)
            {
                copy.TryAdd(statement, NoGrowth);
            }
        }

        return copy;
    }

    /// <summary>Ends the transaction and returns what it queued; later <see cref="TryAdd"/> calls fail.</summary>
    public IReadOnlyList<Statement> Seal()
    {
        lock (_statements)
        {
            _sealed = true;
            return [.. _statements];
        }
    }
}
