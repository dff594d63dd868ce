using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OrleansShards.Runtime.Activation;
using OrleansShards.Runtime.Calls;
using OrleansShards.Runtime.Hosting;

namespace OrleansShards.Runtime;

/// <summary>
/// The in-process grain runtime: resolves a call's activation (creating it on first use), waits for
/// the call's turn, runs it, and returns its result, exception or cancellation to the caller intact.
/// Every call is bounded by <see cref="GrainRuntimeOptions.CallTimeout"/>, or by the method's <see cref="ResponseTimeoutAttribute"/>.
/// </summary>
internal sealed partial class GrainRuntime : IGrainRuntimeStatistics
{
    private readonly ILogger<GrainRuntime> _logger;

    public GrainRuntime(
        IServiceProvider services,
        IOptions<GrainRuntimeOptions> options,
        GrainTypeRegistry registry,
        TimeProvider time,
        ILoggerFactory loggerFactory)
    {
        Services = services;
        Options = options.Value;
        Registry = registry;
        Time = time;
        _logger = loggerFactory.CreateLogger<GrainRuntime>();
        Directory = new ActivationDirectory(this, loggerFactory.CreateLogger<ActivationDirectory>());
        Factory = new GrainFactory(this);
    }

    public IServiceProvider Services { get; }

    public GrainRuntimeOptions Options { get; }

    public GrainTypeRegistry Registry { get; }

    public TimeProvider Time { get; }

    public ActivationDirectory Directory { get; }

    /// <inheritdoc />
    public int ActivationCount => Directory.Count;

    public GrainFactory Factory { get; }

    /// <summary>Runs <paramref name="body"/> as a turn of grain <paramref name="id"/>.</summary>
    public Task<T> CallAsync<T>(GrainId id, bool readOnly, Func<Grain, Task<T>> body, CancellationToken cancellationToken) =>
        CallAsync(id, readOnly, static (grain, b) => b(grain), body, reference: null, cancellationToken);

    /// <summary>
    /// Runs <paramref name="body"/>(grain, <paramref name="state"/>) as a turn of grain <paramref name="id"/>.
    /// The state argument spares the hot path a closure per call; <paramref name="reference"/>, when
    /// given, caches the activation so a warm call skips the directory lookup.
    /// </summary>
    public Task<T> CallAsync<T, TState>(
        GrainId id,
        bool readOnly,
        Func<Grain, TState, Task<T>> body,
        TState state,
        GrainReference? reference,
        CancellationToken cancellationToken,
        TimeSpan? timeoutOverride = null)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return Task.FromCanceled<T>(cancellationToken);
        }

        if (CallChain.IsCycle(id))
        {
            return Task.FromException<T>(new GrainCallCycleException(
                $"Call to {id} would re-enter a turn of the same activation further up the call chain (a call cycle); it cannot complete."));
        }

        var timeout = timeoutOverride ?? Options.CallTimeout;
        var deadline = Time.GetTimestamp() + (long)(timeout.TotalSeconds * Time.TimestampFrequency);
        var task = RunTurnAsync(id, readOnly, body, state, reference, deadline, cancellationToken);
        return task.IsCompleted ? task : WithTimeoutAsync(task, id, timeout, cancellationToken);
    }

    private async Task<T> WithTimeoutAsync<T>(Task<T> task, GrainId id, TimeSpan timeout, CancellationToken cancellationToken)
    {
        try
        {
            return await task.WaitAsync(timeout, Time, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException ex) when (!IsOwnException(task, ex))
        {
            LogCallTimedOut(id, timeout);
            throw new GrainCallTimeoutException($"Call to {id} did not complete within {timeout.TotalMilliseconds:0} ms.");
        }
    }

    // WaitAsync rethrows the call's own exception unchanged; a TimeoutException thrown by the grain
    // method itself (or a GrainCallTimeoutException from a queued wait) must reach the caller intact.
    private static bool IsOwnException(Task task, Exception ex) =>
        task.IsFaulted && ReferenceEquals(task.Exception!.InnerException, ex);

    private async Task<T> RunTurnAsync<T, TState>(
        GrainId id,
        bool readOnly,
        Func<Grain, TState, Task<T>> body,
        TState state,
        GrainReference? reference,
        long deadline,
        CancellationToken cancellationToken)
    {
        while (true)
        {
            // A cached activation is only a hint: validity is checked again inside the gate below,
            // and a deactivated one sends the call back to the directory.
            var activation = reference?.CachedActivation is { State: ActivationState.Valid } cached
                ? cached
                : Directory.GetOrActivate(id);
            await activation.Gate.EnterAsync(readOnly, Time, deadline, cancellationToken).ConfigureAwait(false);
            if (activation.State != ActivationState.Valid)
            {
                activation.Gate.Exit(readOnly);
                if (activation.ActivationFailure is ShardException typed)
                {
                    // A typed error (e.g. INVALID_ARGUMENT for an unsafe key) reaches the caller as itself,
                    // as it would over HTTP; each caller gets its own instance with the same code and text.
                    throw new ShardException(typed.Code, typed.Message, typed);
                }

                if (activation.ActivationFailure is { } failure)
                {
                    throw new GrainActivationException(id, failure);
                }

                continue;
            }

            if (reference is not null)
            {
                reference.CachedActivation = activation;
            }

            var node = CallChain.Enter(activation);
            try
            {
                activation.Touch();
                return await body(activation.Instance!, state).ConfigureAwait(false);
            }
            finally
            {
                node.Finish();
                activation.Gate.Exit(readOnly);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Call to {GrainId} timed out after {Timeout}")]
    private partial void LogCallTimedOut(GrainId grainId, TimeSpan timeout);
}
