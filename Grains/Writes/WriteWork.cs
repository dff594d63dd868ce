using OrleansShards.Grains.Storage;

namespace OrleansShards.Grains.Writes;

/// <summary>
/// One unit of write work queued to the shard's writer. Its task completes only after the SQLite
/// transaction holding it committed (or with its typed error).
/// </summary>
internal sealed class WriteWork
{
    private readonly TaskCompletionSource<WriteOutcome> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public WriteWork(WriteKind kind, IReadOnlyList<Statement> statements, string? idempotencyKey = null, Func<ShardConnection, Task>? maintenance = null, string? requestHash = null)
    {
        IdempotencyHash.CheckKey(idempotencyKey);
        Kind = kind;
        Statements = statements;
        IdempotencyKey = idempotencyKey;
        Maintenance = maintenance;
        RequestHash = idempotencyKey is null ? null : requestHash ?? IdempotencyHash.Of(kind, statements);
    }

    /// <summary>For a write routed to a partition by <c>shardKey</c>: the key every row it touches must carry (see <see cref="Storage.ShardKeyGuard"/>).</summary>
    public Storage.ShardKeyRule? KeyCheck { get; init; }

    /// <summary>The work must not grow the shard (its tenant is over its storage quota): refused if it does.</summary>
    public bool NoGrowth { get; init; }

    /// <summary>
    /// Run, then undone: the work answers as it would have, and nothing of it is kept or logged (a DDL of a sharded table
    /// checked on every file before it is applied to any).
    /// </summary>
    public bool DryRun { get; init; }

    /// <summary>The hash of the request an idempotency key is stored with (null without a key).</summary>
    public string? RequestHash { get; }

    /// <summary>An <see cref="WriteKind.Engine"/> work: <paramref name="engine"/> runs inside the transaction.</summary>
    public WriteWork(Action<ShardConnection> engine, bool foreignKeysOff)
        : this(WriteKind.Engine, [])
    {
        EngineWrite = engine;
        ForeignKeysOff = foreignKeysOff;
    }

    /// <summary>A <see cref="WriteKind.Replicated"/> work: <paramref name="batch"/> applied on a copy fenced at <paramref name="fence"/>.</summary>
    public WriteWork(Replication.ReplicaBatch batch, long fence)
        : this(WriteKind.Replicated, [])
    {
        ReplicaBatch = batch;
        ReplicaFence = fence;
    }

    /// <summary>The batch of a <see cref="WriteKind.Replicated"/> work.</summary>
    public Replication.ReplicaBatch? ReplicaBatch { get; }

    /// <summary>The copy's fence for a <see cref="WriteKind.Replicated"/> work.</summary>
    public long ReplicaFence { get; }

    /// <summary>The outcome of a <see cref="WriteKind.Replicated"/> work, set before it completes.</summary>
    public Replication.ReplicaApplyResult? ReplicaResult { get; set; }

    /// <summary>The body of an <see cref="WriteKind.Engine"/> work.</summary>
    public Action<ShardConnection>? EngineWrite { get; }

    /// <summary>True when foreign keys are off for the work's transaction (rows moved with their children in any order).</summary>
    public bool ForeignKeysOff { get; }

    public WriteKind Kind { get; }

    public IReadOnlyList<Statement> Statements { get; }

    public string? IdempotencyKey { get; }

    public Func<ShardConnection, Task>? Maintenance { get; }

    public Task<WriteOutcome> Task => _completion.Task;

    /// <summary>Results of this group's attempt (not yet committed).</summary>
    public StatementResult[]? Results { get; set; }

    /// <summary>This attempt's error (its savepoint was rolled back).</summary>
    public ShardException? Error { get; set; }

    /// <summary>An earlier outcome found under the idempotency key.</summary>
    public StoredOutcome? Replay { get; set; }

    public bool ChangedData { get; set; }

    /// <summary>Rows this attempt changed (counted as written only after the commit).</summary>
    public long RowsChanged { get; set; }

    public void Reset()
    {
        Results = null;
        Error = null;
        Replay = null;
        ChangedData = false;
        RowsChanged = 0;
    }

    public void Succeed(WriteOutcome outcome) => _completion.TrySetResult(outcome);

    public void Fail(Exception error) => _completion.TrySetException(error);
}
