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
    public bool TryAdd(Statement statement)
    {
        lock (_statements)
        {
            if (_sealed)
            {
                return false;
            }

            _statements.Add(statement);
            return true;
        }
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
