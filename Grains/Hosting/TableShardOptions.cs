using System.ComponentModel.DataAnnotations;

namespace OrleansShards.Grains.Hosting;

/// <summary>
/// Options of every TableShard grain. Every default is stated; invalid values fail the host at start (ranges by data
/// annotations through the generated <see cref="TableShardOptionsValidator"/>, the other rules in <see cref="Validate"/>).
/// </summary>
public sealed class TableShardOptions : IValidatableObject
{
    private const string Tick = "00:00:00.0000001";
    private const string Forever = "10675199.02:48:05.4775807";
    private const string LongMax = "9223372036854775807";

    /// <summary>Root of the shard files: <c>{DataDirectory}/{tenant}/{table}.db</c>. Default <c>./data</c>.</summary>
    [Required]
    public string DataDirectory { get; set; } = "data";

    /// <summary>Size limit of one shard (database + WAL + change log + snapshots). Default 10 GB (<c>MAX_SHARD_SIZE_GB</c>).</summary>
    [Range(typeof(long), "65536", LongMax)]
    public long MaxShardSizeBytes { get; set; } = 10L * 1024 * 1024 * 1024;

    /// <summary>How often the capacity reminder measures the shard. Default 60 s.</summary>
    [Range(typeof(TimeSpan), Tick, Forever)]
    public TimeSpan CapacityCheckPeriod { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Reader connections serving <c>[ReadOnly]</c> queries of one shard concurrently. Default 16: opened only as
    /// concurrent reads need them and closed when idle, so a shard read by one caller holds one. Fewer than the callers
    /// reading at once makes reads wait for a reader (a thread holding one can be preempted): at 4, sixteen in-process
    /// callers on two cores read 25 % slower.
    /// </summary>
    [Range(1, int.MaxValue)]
    public int ReaderPoolSize { get; set; } = 16;

    /// <summary>
    /// Strong reads sent to a silo's HTTP API, or through <c>IGrainFactory</c> by code outside grains in the silo's
    /// process, for a shard whose primary is open on that silo are served by its reader pool without an Orleans call
    /// (<see cref="TableShards.LocalShardReads"/>): same turn, deadline, caps and metrics, one hop less. Default true;
    /// false sends every read through the grain.
    /// </summary>
    public bool LocalReads { get; set; } = true;

    /// <summary>
    /// How long a reader connection may stay idle before it is closed (readers are opened on first need). Default 30 s.
    /// </summary>
    [Range(typeof(TimeSpan), Tick, Forever)]
    public TimeSpan ReaderIdleTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Most file descriptors the silo's open shards may hold together (a shard's writer 3, each reader 2). Past it the
    /// least recently used idle shards are closed first; when none can be, the open answers <c>OVERLOADED</c>
    /// (retryable). Default 0: three quarters of what the process's descriptor limit (<c>ulimit -n</c>) leaves once the
    /// silo has started (the runtime itself holds a few hundred).
    /// </summary>
    public int MaxOpenFiles { get; set; }

    /// <summary>Prepared statements kept per connection (the plan cache). Default 128.</summary>
    [Range(1, int.MaxValue)]
    public int PlanCacheSize { get; set; } = 128;

    /// <summary>Lifetime of an interactive transaction before it expires. Default 30 s.</summary>
    [Range(typeof(TimeSpan), Tick, Forever)]
    public TimeSpan TransactionTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How long a read with a <c>minBookmark</c> ahead of the shard waits for the shard to reach it before it answers
    /// <c>RETRYABLE</c>. Default 1 s; 0 answers at once.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:01:00")]
    public TimeSpan MinBookmarkWait { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Most rows one statement may return; more answer <c>RESULT_TOO_LARGE</c> (stepping stops at once). Default 100,000.</summary>
    [Range(1, int.MaxValue)]
    public int MaxResultRows { get; set; } = 100_000;

    /// <summary>
    /// Most bytes one statement may return (8 per number, the stored size of text and blobs); more answer
    /// <c>RESULT_TOO_LARGE</c> while the result is produced, so an oversized query never builds its whole answer.
    /// Default 16 MiB.
    /// </summary>
    [Range(typeof(long), "1024", LongMax)]
    public long MaxResultBytes { get; set; } = 16L * 1024 * 1024;

    /// <summary>Statements one interactive transaction may queue. Default 1000.</summary>
    [Range(1, int.MaxValue)]
    public int MaxTransactionStatements { get; set; } = 1000;

    /// <summary>How long an idempotency key's first outcome is remembered. Default 24 hours.</summary>
    [Range(typeof(TimeSpan), Tick, Forever)]
    public TimeSpan IdempotencyWindow { get; set; } = TimeSpan.FromHours(24);

    /// <summary>Longest one statement may run before it is interrupted with <c>TIMEOUT</c>. Default 30 s.</summary>
    [Range(typeof(TimeSpan), Tick, Forever)]
    public TimeSpan StatementTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Longest a tenant write (a mutation, a batch or a transaction's COMMIT, as a whole) may run on the shard's
    /// writer before it is interrupted with <c>TIMEOUT</c>: while it runs no other write of the shard can commit, so
    /// it is shorter than <see cref="StatementTimeout"/> (the lower of the two applies). DDL and the engine's own
    /// writes keep <see cref="StatementTimeout"/>. Default 5 s.
    /// </summary>
    [Range(typeof(TimeSpan), Tick, Forever)]
    public TimeSpan WriteStatementTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Most mutations coalesced into one SQLite transaction (group commit). Default 256.</summary>
    [Range(1, int.MaxValue)]
    public int MaxGroupCommitSize { get; set; } = 256;

    /// <summary>Attempts on SQLITE_BUSY/LOCKED (jittered backoff) before <c>RETRYABLE</c> surfaces. Default 5.</summary>
    [Range(1, int.MaxValue)]
    public int BusyRetryAttempts { get; set; } = 5;

    /// <summary>
    /// SQLite <c>synchronous</c> setting of shard files. Default <c>FULL</c>: a commit acknowledged is on
    /// disk (fsync of the WAL at every commit), surviving process crash and power loss. <c>NORMAL</c>
    /// survives process crashes but may lose the last commits on power loss.
    /// </summary>
    [AllowedValues("FULL", "NORMAL", "EXTRA")]
    public string Synchronous { get; set; } = "FULL";

    /// <summary>The rule that is not a plain range: <see cref="MaxOpenFiles"/> is 0 (automatic) or at least 16.</summary>
    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (MaxOpenFiles is < 0 or (> 0 and < 16))
        {
            yield return new ValidationResult(
                $"TableShardOptions.MaxOpenFiles must be 0 (automatic) or at least 16 (was {MaxOpenFiles}).", [nameof(MaxOpenFiles)]);
        }
    }
}
