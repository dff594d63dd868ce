namespace OrleansShards.Grains.TableShards;

/// <summary>An open interactive transaction: statements validated and queued until COMMIT.</summary>
internal sealed class InteractiveTransaction(string id, DateTimeOffset expiresAt)
{
    private readonly List<Statement> _statements = [];

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

    public void Add(Statement statement)
    {
        lock (_statements)
        {
            _statements.Add(statement);
        }
    }

    public IReadOnlyList<Statement> Snapshot()
    {
        lock (_statements)
        {
            return [.. _statements];
        }
    }
}
