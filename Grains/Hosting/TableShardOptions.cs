namespace OrleansShards.Grains.Hosting;

/// <summary>Options of every TableShard grain. Every default is stated; invalid values fail the host at start.</summary>
public sealed class TableShardOptions
{
    /// <summary>Root of the shard files: <c>{DataDirectory}/{tenant}/{table}.db</c>. Default <c>./data</c>.</summary>
    public string DataDirectory { get; set; } = "data";

    /// <summary>Size limit of one shard (database + WAL + change log + snapshots). Default 10 GB (<c>MAX_SHARD_SIZE_GB</c>).</summary>
    public long MaxShardSizeBytes { get; set; } = 10L * 1024 * 1024 * 1024;

    /// <summary>How often the capacity reminder measures the shard. Default 60 s.</summary>
    public TimeSpan CapacityCheckPeriod { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Reader connections serving <c>[ReadOnly]</c> queries concurrently. Default 4.</summary>
    public int ReaderPoolSize { get; set; } = 4;

    /// <summary>
    /// How long a reader connection may stay idle before it is closed (readers are opened on first need). Default 30 s.
    /// </summary>
    public TimeSpan ReaderIdleTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Most file descriptors the silo's open shards may hold together (a shard's writer 3, each reader 2). Past it the
    /// least recently used idle shards are closed first; when none can be, the open answers <c>OVERLOADED</c>
    /// (retryable). Default 0: three quarters of what the process's descriptor limit (<c>ulimit -n</c>) leaves once the
    /// silo has started (the runtime itself holds a few hundred).
    /// </summary>
    public int MaxOpenFiles { get; set; }

    /// <summary>Prepared statements kept per connection (the plan cache). Default 128.</summary>
    public int PlanCacheSize { get; set; } = 128;

    /// <summary>Lifetime of an interactive transaction before it expires. Default 30 s.</summary>
    public TimeSpan TransactionTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How long a read with a <c>minBookmark</c> ahead of the shard waits for the shard to reach it before it answers
    /// <c>RETRYABLE</c>. Default 1 s; 0 answers at once.
    /// </summary>
    public TimeSpan MinBookmarkWait { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Most rows one statement may return; more answer <c>RESULT_TOO_LARGE</c> (stepping stops at once). Default 100,000.</summary>
    public int MaxResultRows { get; set; } = 100_000;

    /// <summary>
    /// Most bytes one statement may return (8 per number, the stored size of text and blobs); more answer
    /// <c>RESULT_TOO_LARGE</c> while the result is produced, so an oversized query never builds its whole answer.
    /// Default 16 MiB.
    /// </summary>
    public long MaxResultBytes { get; set; } = 16L * 1024 * 1024;

    /// <summary>Statements one interactive transaction may queue. Default 1000.</summary>
    public int MaxTransactionStatements { get; set; } = 1000;

    /// <summary>How long an idempotency key's first outcome is remembered. Default 24 hours.</summary>
    public TimeSpan IdempotencyWindow { get; set; } = TimeSpan.FromHours(24);

    /// <summary>Longest one statement may run before it is interrupted with <c>TIMEOUT</c>. Default 30 s.</summary>
    public TimeSpan StatementTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Longest a tenant write (a mutation, a batch or a transaction's COMMIT, as a whole) may run on the shard's
    /// writer before it is interrupted with <c>TIMEOUT</c>: while it runs no other write of the shard can commit, so
    /// it is shorter than <see cref="StatementTimeout"/> (the lower of the two applies). DDL and the engine's own
    /// writes keep <see cref="StatementTimeout"/>. Default 5 s.
    /// </summary>
    public TimeSpan WriteStatementTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Most mutations coalesced into one SQLite transaction (group commit). Default 256.</summary>
    public int MaxGroupCommitSize { get; set; } = 256;

    /// <summary>Attempts on SQLITE_BUSY/LOCKED (jittered backoff) before <c>RETRYABLE</c> surfaces. Default 5.</summary>
    public int BusyRetryAttempts { get; set; } = 5;

    /// <summary>
    /// SQLite <c>synchronous</c> setting of shard files. Default <c>FULL</c>: a commit acknowledged is on
    /// disk (fsync of the WAL at every commit), surviving process crash and power loss. <c>NORMAL</c>
    /// survives process crashes but may lose the last commits on power loss.
    /// </summary>
    public string Synchronous { get; set; } = "FULL";
}
