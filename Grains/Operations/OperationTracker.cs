using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OrleansShards.Grains.Hosting;

namespace OrleansShards.Grains.Operations;

/// <summary>
/// Starts operation records (<see cref="IOperationGrain"/>) for the grains that run long operations, and writes the
/// start and end log lines of each. Usable from grain code and from pool threads (it uses the silo's grain factory).
/// </summary>
internal sealed partial class OperationTracker(
    IGrainFactory grains,
    IOptions<OperationOptions> options,
    [FromKeyedServices(ShardClock.ServiceKey)] TimeProvider clock,
    ILogger<OperationTracker> logger)
{
    /// <summary>
    /// Creates the record of a new operation under <paramref name="operationId"/> (validated; null: a new id) and logs
    /// its start. The id is scoped by <paramref name="tenant"/> (null: the operator's operations). <c>INVALID_ARGUMENT</c>
    /// for a malformed id or one this tenant already used.
    /// </summary>
    public async Task<OperationRun> StartAsync(string? operationId, string kind, string? tenant, string target, long total = 0)
    {
        var id = OperationIds.ValidOrNew(operationId);
        var grain = grains.GetOperation(tenant, id);
        await grain.StartAsync(new OperationStart(kind, tenant, target, total)).ConfigureAwait(false);
        LogStarted(logger, kind, target, id);
        return new OperationRun(this, grain, id, kind, target, total);
    }

    internal TimeSpan ReportInterval => options.Value.ReportInterval;

    internal TimeProvider Clock => clock;

    internal ILogger Logger => logger;

    [LoggerMessage(Level = LogLevel.Information, Message = "Operation {Kind} of {Target} started: {OperationId}")]
    private static partial void LogStarted(ILogger logger, string kind, string target, string operationId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Operation {Kind} of {Target} completed: {OperationId}, {Done} units in {ElapsedMs:0} ms")]
    internal static partial void LogCompleted(ILogger logger, string kind, string target, string operationId, long done, double elapsedMs);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Operation {Kind} of {Target} failed: {OperationId} after {ElapsedMs:0} ms with {Code}: {Error}")]
    internal static partial void LogFailed(ILogger logger, string kind, string target, string operationId, double elapsedMs, string code, string error);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Progress of operation {OperationId} was not recorded ({Error})")]
    internal static partial void LogReportLost(ILogger logger, string operationId, string error);
}

/// <summary>
/// One running operation: progress reports (at most one per <see cref="OperationOptions.ReportInterval"/> within a phase;
/// a new phase is always sent), then its end. Progress is a hint: a report that cannot be recorded is dropped.
/// </summary>
internal sealed class OperationRun : IProgress<long>
{
    private readonly OperationTracker _tracker;
    private readonly IOperationGrain _grain;
    private readonly long _started;
    private readonly object _gate = new();
    private string _phase = "starting";
    private long _total;
    private long _done;
    private long _lastReport;
    private int _ended;

    internal OperationRun(OperationTracker tracker, IOperationGrain grain, string id, string kind, string target, long total)
    {
        _tracker = tracker;
        _grain = grain;
        Id = id;
        Kind = kind;
        Target = target;
        _total = total;
        _started = Stopwatch.GetTimestamp();
    }

    /// <summary>The operation id.</summary>
    public string Id { get; }

    public string Kind { get; }

    public string Target { get; }

    /// <summary>Enters <paramref name="phase"/> with its figures; always recorded.</summary>
    public Task PhaseAsync(string phase, long done, long total)
    {
        lock (_gate)
        {
            _phase = phase;
            _total = total;
            _done = done;
            _lastReport = Stopwatch.GetTimestamp();
        }

        return SendAsync(new OperationProgress(phase, done, total));
    }

    /// <summary>Reports <paramref name="done"/> units of the current phase (throttled; not awaited).</summary>
    public void Report(long value)
    {
        OperationProgress progress;
        lock (_gate)
        {
            _done = value;
            if (Stopwatch.GetElapsedTime(_lastReport) < _tracker.ReportInterval)
            {
                return;
            }

            _lastReport = Stopwatch.GetTimestamp();
            progress = new OperationProgress(_phase, value, _total);
        }

        _ = SendAsync(progress);
    }

    /// <summary>Ends the record as completed (done = total = the larger of the last figures), and logs the end.</summary>
    public async Task CompleteAsync()
    {
        if (Interlocked.Exchange(ref _ended, 1) != 0)
        {
            return;
        }

        long done;
        lock (_gate)
        {
            done = Math.Max(_done, _total);
        }

        OperationTracker.LogCompleted(_tracker.Logger, Kind, Target, Id, done, Stopwatch.GetElapsedTime(_started).TotalMilliseconds);
        try
        {
            await _grain.CompleteAsync(done).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            OperationTracker.LogReportLost(_tracker.Logger, Id, ex.Message);
        }
    }

    /// <summary>Ends the record as failed with <paramref name="error"/>'s code and message, and logs the end.</summary>
    public async Task FailAsync(Exception error)
    {
        ArgumentNullException.ThrowIfNull(error);
        if (Interlocked.Exchange(ref _ended, 1) != 0)
        {
            return;
        }

        var (code, message) = error is ShardException shard
            ? (shard.Code.ToWire(), shard.Message)
            : (ShardErrorCode.Internal.ToWire(), "The operation failed unexpectedly; it has been logged.");
        OperationTracker.LogFailed(_tracker.Logger, Kind, Target, Id, Stopwatch.GetElapsedTime(_started).TotalMilliseconds, code, error.Message);
        try
        {
            await _grain.FailAsync(new OperationError(code, message)).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            OperationTracker.LogReportLost(_tracker.Logger, Id, ex.Message);
        }
    }

    private async Task SendAsync(OperationProgress progress)
    {
        try
        {
            await _grain.ReportAsync(progress).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            OperationTracker.LogReportLost(_tracker.Logger, Id, ex.Message);
        }
    }
}
