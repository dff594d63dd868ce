using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Options;
using OrleansShards.Grains.Hosting;

namespace OrleansShards.Grains.Storage;

/// <summary>
/// The silo's budget of file descriptors held by open shards (<see cref="TableShardOptions.MaxOpenFiles"/>). An open
/// shard's writer holds <see cref="WriterFiles"/> (database, WAL, shared memory), each reader connection
/// <see cref="ReaderFiles"/> more. When an open would pass the budget, the least recently used idle shards are closed
/// first (their activations deactivate); when none can go, the open is refused with <c>OVERLOADED</c> (retryable), as is
/// a file the process truly cannot open (<see cref="ReportExhausted"/>), and <c>/health</c> reports degraded for
/// <see cref="ExhaustedWindow"/> after.
/// </summary>
public sealed class ShardFileBudget
{
    /// <summary>Descriptors of a shard's writer connection: the database, its WAL and its shared-memory file.</summary>
    public const int WriterFiles = 3;

    /// <summary>Descriptors of one reader connection: the database and its WAL (the shared memory is shared).</summary>
    public const int ReaderFiles = 2;

    /// <summary>How long opening a shard waits for idle shards it asked to close before it answers <c>OVERLOADED</c>.</summary>
    public static readonly TimeSpan ClosingWait = TimeSpan.FromSeconds(5);

    /// <summary>How long <c>/health</c> stays degraded after an open was refused or failed for lack of descriptors.</summary>
    public static readonly TimeSpan ExhaustedWindow = TimeSpan.FromSeconds(30);

    private readonly Lock _lock = new();
    private readonly Dictionary<string, Lease> _leases = new(StringComparer.Ordinal);
    private long _files;
    private long _exhaustedAt = long.MinValue;
    private long _evictions;

    /// <summary>Creates the budget; <see cref="TableShardOptions.MaxOpenFiles"/> 0 is three quarters of the descriptors the process has left.</summary>
    public ShardFileBudget(IOptions<TableShardOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Value.MaxOpenFiles > 0)
        {
            _limit = options.Value.MaxOpenFiles;
        }
        else
        {
            _processLimit = ProcessFileLimit();
            _limit = Automatic(_processLimit, ProcessOpenFiles());
            _measuredAt = Stopwatch.GetTimestamp();
        }
    }

    /// <summary>
    /// The budget. Set by <see cref="TableShardOptions.MaxOpenFiles"/>, or automatic: three quarters of the descriptors
    /// the process may still open besides the shards' own, counted again on an open at most every
    /// <see cref="RemeasureEvery"/> — the silo keeps opening files of its own after start (assemblies loaded on first
    /// use hold descriptors too), and a budget measured once at start let SQLite run out first.
    /// </summary>
    public long Limit => Interlocked.Read(ref _limit);

    /// <summary>How often, at most, the automatic budget counts the process's open descriptors again.</summary>
    internal static readonly TimeSpan RemeasureEvery = TimeSpan.FromSeconds(1);

    private long _limit;

    /// <summary>The process's descriptor limit when the budget is automatic; 0 when it is configured.</summary>
    private readonly long _processLimit;

    private long _measuredAt;

    /// <summary>Automatic budget: recounts the descriptors the process holds besides the shards' (called under the lock).</summary>
    private void Remeasure()
    {
        if (_processLimit == 0 || Stopwatch.GetElapsedTime(_measuredAt) < RemeasureEvery)
        {
            return;
        }

        _measuredAt = Stopwatch.GetTimestamp();
        var open = ProcessOpenFiles();
        if (open > _files)
        {
            // Not when the count failed (no descriptor left to list them with): the budget stays as it was.
            Interlocked.Exchange(ref _limit, Automatic(_processLimit, open - _files));
        }
    }


    /// <summary>Descriptors open shards hold now (as counted by the budget).</summary>
    public long OpenFiles => Interlocked.Read(ref _files);

    /// <summary>Descriptors the holder keyed <paramref name="shard"/> holds now (0 when it holds none).</summary>
    public long FilesHeldBy(string shard)
    {
        lock (_lock)
        {
            return _leases.TryGetValue(shard, out var lease) ? lease.Files : 0;
        }
    }

    /// <summary>Shards holding files now.</summary>
    public int OpenShards
    {
        get
        {
            lock (_lock)
            {
                return _leases.Count;
            }
        }
    }

    /// <summary>Idle shards closed to make room, since the silo started.</summary>
    public long Evictions => Interlocked.Read(ref _evictions);

    /// <summary>True while an open was refused or failed for lack of descriptors within <see cref="ExhaustedWindow"/>.</summary>
    public bool IsExhausted
    {
        get
        {
            var at = Interlocked.Read(ref _exhaustedAt);
            return at != long.MinValue && Stopwatch.GetElapsedTime(at) < ExhaustedWindow;
        }
    }

    /// <summary>Records that a file could not be opened for lack of descriptors (EMFILE, SQLite CANTOPEN).</summary>
    public void ReportExhausted() => Interlocked.Exchange(ref _exhaustedAt, Stopwatch.GetTimestamp());

    /// <summary>Whether <paramref name="exception"/> says the process is out of file descriptors (EMFILE/ENFILE).</summary>
    public static bool IsTooManyOpenFiles(IOException exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        return exception.HResult is 23 or 24 || exception.Message.Contains("Too many open files", StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>The shards holding files now, least recently used first.</summary>
    internal IReadOnlyList<string> OpenShardNames()
    {
        lock (_lock)
        {
            return [.. _leases.Values.OrderBy(l => l.LastUsed).Select(l => l.Shard)];
        }
    }

    /// <summary>
    /// Whether the shard named <paramref name="shard"/> has its primary here with the file open: its activation opened the
    /// file and holds the shard (<see cref="Lease.Primary"/>; an activation that opened it and then found another silo
    /// holds the shard never counts).
    /// </summary>
    internal bool PrimaryOpen(string shard)
    {
        lock (_lock)
        {
            return _leases.TryGetValue(shard, out var lease) && lease.Primary && lease.Files > 0;
        }
    }

    /// <summary>Registers an opening shard; <paramref name="close"/> asks it to close (deactivate) to make room.</summary>
    internal Lease Open(string shard, Func<bool> canClose, Action close)
    {
        var lease = new Lease(this, shard, canClose, close);
        lock (_lock)
        {
            _leases[shard] = lease;
        }

        return lease;
    }

    /// <summary>
    /// Takes <paramref name="files"/> descriptors for <paramref name="lease"/>, closing least recently used idle shards
    /// when the budget would be passed.
    /// </summary>
    /// <exception cref="ShardException"><c>OVERLOADED</c> when no idle shard can make room.</exception>
    /// <summary>Completed (and replaced) whenever descriptors are given back: what a reservation waiting for closing shards awaits.</summary>
    private TaskCompletionSource _given = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>
    /// <see cref="Reserve"/>, but when the budget is held only because shards asked to close have not closed yet (a
    /// burst of opens outruns their deactivations), waits for them — up to <paramref name="wait"/> — instead of
    /// refusing at once.
    /// </summary>
    internal async Task ReserveAsync(Lease lease, int files, TimeSpan wait)
    {
        var started = Stopwatch.GetTimestamp();
        while (true)
        {
            Task given;
            bool closing;
            lock (_lock)
            {
                given = _given.Task;
                closing = _leases.Values.Any(l => l.Closing && l.Files > 0);
            }

            var remaining = wait - Stopwatch.GetElapsedTime(started);
            if (!closing || remaining <= TimeSpan.Zero)
            {
                Reserve(lease, files);
                return;
            }

            if (TryReserve(lease, files))
            {
                return;
            }

            try
            {
                await given.WaitAsync(remaining);
            }
            catch (TimeoutException)
            {
                // Still held: the last attempt below refuses with OVERLOADED.
            }
        }
    }

    private void Given()
    {
        var given = _given;
        _given = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        given.TrySetResult();
    }

    internal void Reserve(Lease lease, int files)
    {
        if (!TryReserve(lease, files))
        {
            ReportExhausted();
            throw new ShardException(ShardErrorCode.Overloaded,
                $"The silo holds its whole file budget ({Limit} descriptors) for shards in use; retry shortly.");
        }
    }

    private bool TryReserve(Lease lease, int files)
    {
        List<Lease>? evicted = null;
        lock (_lock)
        {
            Remeasure();
            var needed = _files + files - Limit;
            if (needed > 0)
            {
                var freed = 0L;
                foreach (var candidate in _leases.Values.Where(l => l != lease && l.IsIdle && l.Files > 0).OrderBy(l => l.LastUsed).ToList())
                {
                    if (freed >= needed)
                    {
                        break;
                    }

                    if (!candidate.CanClose())
                    {
                        continue;
                    }

                    candidate.Closing = true;
                    freed += candidate.Files;
                    (evicted ??= []).Add(candidate);
                }

                if (freed < needed)
                {
                    // Nothing is closed after all: the shards stay as they are, the caller retries later.
                    foreach (var kept in evicted ?? [])
                    {
                        kept.Closing = false;
                    }

                    return false;
                }
            }

            // The evicted shards' descriptors are counted until they are closed: the budget stays below the process limit.
            _files += files;
            lease.Files += files;
        }

        foreach (var victim in evicted ?? [])
        {
            Interlocked.Increment(ref _evictions);
            victim.RequestClose();
        }

        return true;
    }

    /// <summary>Gives back <paramref name="files"/> descriptors of <paramref name="lease"/>.</summary>
    internal void Release(Lease lease, int files)
    {
        lock (_lock)
        {
            var released = Math.Min(files, lease.Files);
            lease.Files -= released;
            _files -= released;
            Given();
        }
    }

    private void Remove(Lease lease)
    {
        lock (_lock)
        {
            _files -= lease.Files;
            lease.Files = 0;
            if (_leases.TryGetValue(lease.Shard, out var current) && current == lease)
            {
                _leases.Remove(lease.Shard);
            }

            Given();
        }
    }

    /// <summary>
    /// Three quarters of the descriptors the process has left besides the shards' (the limit less those the runtime and
    /// the silo hold: a few hundred for assemblies, sockets, logs), and never within <see cref="Headroom"/> of the limit:
    /// the rest stays for sockets, snapshots and the runtime itself (a .NET process out of descriptors can fail outside
    /// any request, seen as "Out of memory." in a test run at a limit of 400). At least 16.
    /// </summary>
    internal static long Automatic(long processLimit, long openNow)
    {
        var available = processLimit - openNow;
        return Math.Max(16, Math.Min(available / 4 * 3, available - Headroom));
    }

    /// <summary>Descriptors the automatic budget always leaves to the process.</summary>
    internal const long Headroom = 64;

    /// <summary>Descriptors open in this process now (Linux: <c>/proc/self/fd</c>); 0 where they cannot be counted.</summary>
    internal static long ProcessOpenFiles()
    {
        try
        {
            return Directory.Exists("/proc/self/fd") ? Directory.EnumerateFileSystemEntries("/proc/self/fd").LongCount() : 0;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return 0;
        }
    }

    /// <summary>The soft <c>RLIMIT_NOFILE</c> of this process (Linux: <c>/proc/self/limits</c>); 4096 where it cannot be read, 1,000,000 when unlimited.</summary>
    internal static long ProcessFileLimit()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/self/limits"))
            {
                if (line.StartsWith("Max open files", StringComparison.Ordinal))
                {
                    var soft = line["Max open files".Length..].Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries)[0];
                    return soft == "unlimited" ? 1_000_000 : Math.Min(1_000_000, long.Parse(soft, CultureInfo.InvariantCulture));
                }
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
        }

        return 4096;
    }

    /// <summary>One open shard's share of the budget, and what the budget needs to choose it for closing.</summary>
    internal sealed class Lease : IDisposable
    {
        private readonly ShardFileBudget _budget;
        private readonly Func<bool> _canClose;
        private readonly Action _close;
        private int _busy;
        private long _lastUsed = Stopwatch.GetTimestamp();

        public Lease(ShardFileBudget budget, string shard, Func<bool> canClose, Action close)
        {
            _budget = budget;
            Shard = shard;
            _canClose = canClose;
            _close = close;
        }

        public string Shard { get; }

        /// <summary>Descriptors held (changed under the budget's lock).</summary>
        public long Files { get; set; }

        /// <summary>Asked to close; not chosen again.</summary>
        public bool Closing { get; set; }

        /// <summary>Set by a shard's activation once it holds the shard (its file is the primary's copy).</summary>
        public bool Primary
        {
            get => Volatile.Read(ref _primary);
            set => Volatile.Write(ref _primary, value);
        }

        private bool _primary;

        public long LastUsed => Interlocked.Read(ref _lastUsed);

        public bool IsIdle => Volatile.Read(ref _busy) == 0 && !Closing;

        /// <summary>A call of the shard starts.</summary>
        public void Enter()
        {
            Interlocked.Increment(ref _busy);
            Interlocked.Exchange(ref _lastUsed, Stopwatch.GetTimestamp());
        }

        /// <summary>A call of the shard ended.</summary>
        public void Exit()
        {
            Interlocked.Exchange(ref _lastUsed, Stopwatch.GetTimestamp());
            Interlocked.Decrement(ref _busy);
        }

        public bool CanClose() => _canClose();

        public void RequestClose() => _close();

        public void Reserve(int files) => _budget.Reserve(this, files);

        /// <summary>Reserves, waiting up to <paramref name="wait"/> for shards already asked to close.</summary>
        public Task ReserveAsync(int files, TimeSpan wait) => _budget.ReserveAsync(this, files, wait);

        public void Release(int files) => _budget.Release(this, files);

        public void Dispose() => _budget.Remove(this);
    }
}
