using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OrleansShards.Runtime.Calls;

namespace OrleansShards.Runtime.Reminders;

/// <summary>
/// Delivers durable reminders. Rows live in <see cref="ReminderOptions.DatabasePath"/>; a tick is
/// recorded as done only after the grain's <see cref="IRemindable.ReceiveReminder"/> returned, so a
/// crash in between re-delivers it (at-least-once). Ticks missed while the silo was down are
/// delivered once at start, then the reminder continues on its period grid.
/// </summary>
internal sealed partial class ReminderService : BackgroundService, IAsyncDisposable
{
    // Task.Delay rejects waits above ~49.7 days; a far reminder is waited for in slices.
    private static readonly TimeSpan MaxWait = TimeSpan.FromDays(1);

    private readonly GrainRuntime _runtime;
    private readonly ReminderOptions _options;
    private readonly ILogger<ReminderService> _logger;
    private readonly Dictionary<(GrainId Grain, string Name), ReminderEntry> _entries = [];
    private readonly HashSet<Task> _inFlight = [];
    private readonly Lock _lock = new();

    // Serialises every change of a row (register, unregister, completion of a tick) so that the
    // durable row and the in-memory entry always agree: without it, a tick completing while the
    // reminder is unregistered could write the row back after its delete (the reminder comes back
    // after a restart).
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly Lazy<Task<ReminderTable>> _table;
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _ticksDelivered;
    private long _sleepingUntilTicks = -1;

    public ReminderService(GrainRuntime runtime, IOptions<ReminderOptions> options, ILogger<ReminderService> logger)
    {
        _runtime = runtime;
        _options = options.Value;
        _logger = logger;
        _table = new Lazy<Task<ReminderTable>>(LoadAsync);
    }

    /// <summary>Number of ticks delivered successfully since start (for tests and metrics).</summary>
    public long TicksDelivered => Interlocked.Read(ref _ticksDelivered);

    /// <summary>
    /// The due time the delivery loop is waiting for (<see cref="DateTimeOffset.MaxValue"/>: nothing is
    /// scheduled), or null while it is working. Set only after the wake-up timer exists, so a test
    /// that sees it may advance a fake clock and the tick will fire.
    /// </summary>
    internal DateTimeOffset? SleepingUntil
    {
        get
        {
            var ticks = Volatile.Read(ref _sleepingUntilTicks);
            return ticks < 0 ? null : new DateTimeOffset(ticks, TimeSpan.Zero);
        }
    }

    public async Task<IGrainReminder> RegisterOrUpdateAsync(GrainId grain, string name, TimeSpan dueTime, TimeSpan period)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (period < _options.MinimumPeriod)
        {
            throw new ArgumentOutOfRangeException(nameof(period), period,
                $"A reminder period must be at least ReminderOptions.MinimumPeriod ({_options.MinimumPeriod}).");
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(dueTime, TimeSpan.Zero);
        var table = await _table.Value.ConfigureAwait(false);
        await _writeLock.WaitAsync().ConfigureAwait(false);
        ReminderEntry entry;
        try
        {
            var first = _runtime.Time.GetUtcNow() + dueTime;
            entry = new ReminderEntry(grain, name, first, period, first);
            await table.UpsertAsync(entry).ConfigureAwait(false);
            lock (_lock)
            {
                _entries[(grain, name)] = entry;
            }
        }
        finally
        {
            _writeLock.Release();
        }

        Signal();
        return entry;
    }

    public async Task UnregisterAsync(GrainId grain, string name)
    {
        var table = await _table.Value.ConfigureAwait(false);
        await _writeLock.WaitAsync().ConfigureAwait(false);
        try
        {
            await table.DeleteAsync(grain, name).ConfigureAwait(false);
            lock (_lock)
            {
                _entries.Remove((grain, name));
            }
        }
        finally
        {
            _writeLock.Release();
        }

        Signal();
    }

    public async Task<IGrainReminder?> GetAsync(GrainId grain, string name)
    {
        await _table.Value.ConfigureAwait(false);
        lock (_lock)
        {
            return _entries.GetValueOrDefault((grain, name));
        }
    }

    public async Task<IReadOnlyList<IGrainReminder>> GetAllAsync(GrainId grain)
    {
        await _table.Value.ConfigureAwait(false);
        lock (_lock)
        {
            return _entries.Values.Where(e => e.Grain == grain).Cast<IGrainReminder>().ToList();
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        CallChain.Clear();
        await _table.Value.ConfigureAwait(false);
        while (!stoppingToken.IsCancellationRequested)
        {
            Task changed;
            DateTimeOffset? next = null;
            List<ReminderEntry>? due = null;
            var now = _runtime.Time.GetUtcNow();
            lock (_lock)
            {
                changed = _changed.Task;
                foreach (var entry in _entries.Values)
                {
                    if (entry.InFlight)
                    {
                        continue;
                    }

                    if (entry.NextDue <= now)
                    {
                        entry.InFlight = true;
                        (due ??= []).Add(entry);
                    }
                    else if (next is null || entry.NextDue < next)
                    {
                        next = entry.NextDue;
                    }
                }
            }

            // Grain code (the tick's turn may run synchronously) never runs under the service lock.
            if (due is not null)
            {
                foreach (var entry in due)
                {
                    Track(FireAsync(entry, stoppingToken));
                }
            }

            await SleepAsync(next, now, changed, stoppingToken).ConfigureAwait(false);
        }
    }

    private async Task SleepAsync(DateTimeOffset? next, DateTimeOffset now, Task changed, CancellationToken stoppingToken)
    {
        using var wake = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        var delay = next is { } n ? (n - now < MaxWait ? n - now : MaxWait) : Timeout.InfiniteTimeSpan;
        var sleeping = Task.Delay(delay, _runtime.Time, wake.Token);
        Volatile.Write(ref _sleepingUntilTicks, (next ?? DateTimeOffset.MaxValue).UtcTicks);
        try
        {
            // The clock may have moved between reading "now" and arming the timer (the timer would
            // then fire late by that much): look again now that the timer exists.
            if (next is { } dueAt && _runtime.Time.GetUtcNow() >= dueAt)
            {
                return;
            }

            await Task.WhenAny(sleeping, changed).ConfigureAwait(false);
        }
        finally
        {
            Volatile.Write(ref _sleepingUntilTicks, -1);

            // Woken by a change: drop the wake-up timer now rather than letting one pile up per change.
            await wake.CancelAsync().ConfigureAwait(false);
        }
    }

    private void Track(Task task)
    {
        lock (_lock)
        {
            if (!task.IsCompleted)
            {
                _inFlight.Add(task);
            }
        }

        task.ContinueWith(
            (t, s) =>
            {
                var self = (ReminderService)s!;
                lock (self._lock)
                {
                    self._inFlight.Remove(t);
                }
            },
            this,
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
    }

    private async Task FireAsync(ReminderEntry entry, CancellationToken stoppingToken)
    {
        var delivered = false;
        var abandoned = false;
        try
        {
            if (!_runtime.Registry.IsRegistered(entry.Grain.Type))
            {
                LogUnknownGrainType(entry.Grain, entry.ReminderName);
                return;
            }

            var status = new TickStatus(entry.FirstDue, entry.Period, entry.NextDue);
            await _runtime.CallAsync(entry.Grain, readOnly: false, async grain =>
            {
                await ((IRemindable)grain).ReceiveReminder(entry.ReminderName, status).ConfigureAwait(false);
                return true;
            }, stoppingToken).ConfigureAwait(false);
            delivered = true;
            Interlocked.Increment(ref _ticksDelivered);
        }
        catch (Exception) when (stoppingToken.IsCancellationRequested)
        {
            // The silo is stopping: the tick was not (known to be) delivered, so the row keeps its
            // due time and the tick is delivered after restart (at-least-once).
            abandoned = true;
        }
        catch (Exception ex)
        {
            LogTickFailed(ex, entry.Grain, entry.ReminderName);
        }
        finally
        {
            await CompleteTickAsync(entry, advance: delivered || !abandoned).ConfigureAwait(false);
        }
    }

    private async Task CompleteTickAsync(ReminderEntry entry, bool advance)
    {
        try
        {
            if (advance)
            {
                // A failed tick is not retried at once: like a delivered one it moves to the next grid
                // point (the IRemindable contract: a throw means the tick comes again next period).
                var table = await _table.Value.ConfigureAwait(false);
                await _writeLock.WaitAsync().ConfigureAwait(false);
                try
                {
                    bool current;
                    lock (_lock)
                    {
                        current = _entries.TryGetValue((entry.Grain, entry.ReminderName), out var live) && ReferenceEquals(live, entry);
                        entry.NextDue = entry.NextAfter(_runtime.Time.GetUtcNow());
                    }

                    if (current)
                    {
                        await table.UpsertAsync(entry).ConfigureAwait(false);
                    }
                }
                finally
                {
                    _writeLock.Release();
                }
            }
        }
        catch (Exception ex)
        {
            LogTickFailed(ex, entry.Grain, entry.ReminderName);
        }
        finally
        {
            lock (_lock)
            {
                entry.InFlight = false;
            }

            Signal();
        }
    }

    /// <summary>Stops delivering ticks and waits for ticks in flight. The table stays open until dispose so
    /// that grains deactivated after this (at host stop) may still change their reminders.</summary>
    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        Task[] inFlight;
        lock (_lock)
        {
            inFlight = [.. _inFlight];
        }

        await Task.WhenAll(inFlight).WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    public override void Dispose()
    {
        base.Dispose();
        if (_table.IsValueCreated && _table.Value.IsCompletedSuccessfully)
        {
            _table.Value.Result.Dispose();
        }
    }

    public async ValueTask DisposeAsync()
    {
        base.Dispose();
        if (_table.IsValueCreated && _table.Value.IsCompletedSuccessfully)
        {
            await _table.Value.Result.DisposeAsync().ConfigureAwait(false);
        }
    }

    private async Task<ReminderTable> LoadAsync()
    {
        var table = await ReminderTable.OpenAsync(_options.DatabasePath, CancellationToken.None).ConfigureAwait(false);
        var rows = await table.ReadAllAsync().ConfigureAwait(false);
        lock (_lock)
        {
            foreach (var row in rows)
            {
                _entries[(row.Grain, row.ReminderName)] = row;
            }
        }

        LogLoaded(rows.Count, _options.DatabasePath);
        return table;
    }

    private void Signal()
    {
        TaskCompletionSource previous;
        lock (_lock)
        {
            previous = _changed;
            _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        previous.TrySetResult();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Loaded {Count} reminders from {Path}")]
    private partial void LogLoaded(int count, string path);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Reminder {Name} of {GrainId} failed; it is retried at its next tick")]
    private partial void LogTickFailed(Exception exception, GrainId grainId, string name);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Reminder {Name} of {GrainId} names a grain type that is not registered; skipped")]
    private partial void LogUnknownGrainType(GrainId grainId, string name);
}
