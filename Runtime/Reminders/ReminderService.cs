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
internal sealed partial class ReminderService : BackgroundService
{
    private readonly GrainRuntime _runtime;
    private readonly ReminderOptions _options;
    private readonly ILogger<ReminderService> _logger;
    private readonly Dictionary<(GrainId Grain, string Name), ReminderEntry> _entries = [];
    private readonly Lock _lock = new();
    private readonly Lazy<Task<ReminderTable>> _table;
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public ReminderService(GrainRuntime runtime, IOptions<ReminderOptions> options, ILogger<ReminderService> logger)
    {
        _runtime = runtime;
        _options = options.Value;
        _logger = logger;
        _table = new Lazy<Task<ReminderTable>>(LoadAsync);
    }

    /// <summary>Number of ticks delivered successfully since start (for tests and metrics).</summary>
    public long TicksDelivered => Interlocked.Read(ref _ticksDelivered);

    private long _ticksDelivered;

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
        var first = _runtime.Time.GetUtcNow() + dueTime;
        var entry = new ReminderEntry(grain, name, first, period, first);
        await table.UpsertAsync(entry).ConfigureAwait(false);
        lock (_lock)
        {
            _entries[(grain, name)] = entry;
        }

        Signal();
        return entry;
    }

    public async Task UnregisterAsync(GrainId grain, string name)
    {
        var table = await _table.Value.ConfigureAwait(false);
        await table.DeleteAsync(grain, name).ConfigureAwait(false);
        lock (_lock)
        {
            _entries.Remove((grain, name));
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
                        _ = FireAsync(entry, stoppingToken);
                    }
                    else if (next is null || entry.NextDue < next)
                    {
                        next = entry.NextDue;
                    }
                }
            }

            var delay = next is { } n ? n - now : Timeout.InfiniteTimeSpan;
            try
            {
                await Task.WhenAny(Task.Delay(delay, _runtime.Time, stoppingToken), changed).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
    }

    private async Task FireAsync(ReminderEntry entry, CancellationToken stoppingToken)
    {
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
            Interlocked.Increment(ref _ticksDelivered);
        }
        catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
        {
            LogTickFailed(ex, entry.Grain, entry.ReminderName);
        }
        catch (Exception)
        {
            return;
        }
        finally
        {
            await CompleteTickAsync(entry).ConfigureAwait(false);
        }
    }

    private async Task CompleteTickAsync(ReminderEntry entry)
    {
        bool current;
        lock (_lock)
        {
            current = _entries.TryGetValue((entry.Grain, entry.ReminderName), out var live) && ReferenceEquals(live, entry);
            entry.NextDue = entry.NextAfter(_runtime.Time.GetUtcNow());
        }

        try
        {
            if (current)
            {
                // Undelivered ticks are retried at the next grid point; delivered ones advance the row.
                var table = await _table.Value.ConfigureAwait(false);
                await table.UpsertAsync(entry).ConfigureAwait(false);
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

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
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
