using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OrleansShards.Runtime.Calls;

namespace OrleansShards.Runtime.Activation;

/// <summary>
/// The table of live activations. Creates an activation on first use (its first turn is
/// <see cref="Grain.OnActivateAsync"/>), deactivates idle ones, evicts the least recently used
/// beyond <see cref="GrainRuntimeOptions.MaxActivations"/>, and deactivates everything at shutdown.
/// An activation leaves the table only after <see cref="Grain.OnDeactivateAsync"/> finished, so the
/// next activation of the same grain never overlaps the previous one.
/// </summary>
internal sealed partial class ActivationDirectory
{
    private readonly ConcurrentDictionary<GrainId, ActivationData> _activations = new();
    private readonly GrainRuntime _runtime;
    private readonly ILogger _logger;
    private volatile bool _stopping;
    private int _evicting;

    public ActivationDirectory(GrainRuntime runtime, ILogger logger)
    {
        _runtime = runtime;
        _logger = logger;
    }

    public int Count => _activations.Count;

    public bool IsActive(GrainId id) => _activations.TryGetValue(id, out var a) && a.State == ActivationState.Valid;

    public ActivationData GetOrActivate(GrainId id)
    {
        if (_activations.TryGetValue(id, out var existing) && existing.State != ActivationState.Invalid)
        {
            return existing;
        }

        if (_stopping)
        {
            throw new ShardException(ShardErrorCode.Retryable, "The silo is shutting down; retry against another silo or after restart.");
        }

        var created = new ActivationData(id, _runtime);
        var winner = _activations.AddOrUpdate(id, created, (_, old) => old.State == ActivationState.Invalid ? created : old);
        if (ReferenceEquals(winner, created))
        {
            using (ExecutionContext.SuppressFlow())
            {
                _ = Task.Run(() => ActivateAsync(created));
            }

            if (_activations.Count > _runtime.Options.MaxActivations)
            {
                EvictOverLimit();
            }
        }

        return winner;
    }

    private async Task ActivateAsync(ActivationData activation)
    {
        CallChain? node = null;
        try
        {
            var type = _runtime.Registry.GetImplementation(activation.Id.Type);
            var grain = (Grain)ActivatorUtilities.CreateInstance(_runtime.Services, type);
            grain.Activation = activation;
            activation.Instance = grain;
            node = CallChain.Enter(activation);
            using var cts = new CancellationTokenSource(_runtime.Options.ActivationTimeout, _runtime.Time);
            await grain.OnActivateAsync(cts.Token).ConfigureAwait(false);
            activation.State = ActivationState.Valid;
            LogActivated(activation.Id);
        }
        catch (Exception ex)
        {
            LogActivationFailed(ex, activation.Id);
            activation.ActivationFailure = ex;
            activation.State = ActivationState.Invalid;
            _activations.TryRemove(new KeyValuePair<GrainId, ActivationData>(activation.Id, activation));
        }
        finally
        {
            node?.Finish();
            activation.Gate.Exit(readOnly: false);
        }
    }

    /// <summary>Deactivates <paramref name="activation"/> after its current turn.</summary>
    public void RequestDeactivation(ActivationData activation)
    {
        activation.DeactivationRequested = true;
        using (ExecutionContext.SuppressFlow())
        {
            _ = Task.Run(() => DeactivateAsync(activation, DeactivationReason.Requested));
        }
    }

    /// <summary>Deactivates every activation idle for at least the configured age. Returns how many.</summary>
    public async Task<int> CollectIdleAsync()
    {
        var age = _runtime.Options.IdleDeactivationAge;
        var now = _runtime.Time.GetTimestamp();
        var tasks = new List<Task<bool>>();
        foreach (var activation in _activations.Values)
        {
            if (activation.State == ActivationState.Valid
                && _runtime.Time.GetElapsedTime(activation.LastActiveTimestamp, now) >= age
                && activation.Gate.IsIdle)
            {
                tasks.Add(DeactivateAsync(activation, DeactivationReason.Idle));
            }
        }

        var results = await Task.WhenAll(tasks).ConfigureAwait(false);
        return results.Count(r => r);
    }

    /// <summary>Deactivates everything; new activations are refused from now on.</summary>
    public Task DeactivateAllAsync()
    {
        _stopping = true;
        return Task.WhenAll(_activations.Values.Select(a => DeactivateAsync(a, DeactivationReason.ShuttingDown)));
    }

    private void EvictOverLimit()
    {
        if (Interlocked.Exchange(ref _evicting, 1) == 1)
        {
            return;
        }

        using (ExecutionContext.SuppressFlow())
        {
            _ = Task.Run(EvictLoopAsync);
        }
    }

    // Activations created while an eviction pass runs are not lost: after each pass, and after the
    // flag is cleared, the count is checked again (otherwise the table stays over the limit until the
    // next activation happens to be created).
    private async Task EvictLoopAsync()
    {
        while (true)
        {
            try
            {
                while (_activations.Count > _runtime.Options.MaxActivations)
                {
                    var excess = _activations.Count - _runtime.Options.MaxActivations;
                    var victims = _activations.Values
                        .Where(a => a.State == ActivationState.Valid && a.Gate.IsIdle)
                        .OrderBy(a => a.LastActiveTimestamp)
                        .Take(excess)
                        .ToList();
                    if (victims.Count == 0)
                    {
                        break;
                    }

                    var results = await Task.WhenAll(victims.Select(v => DeactivateAsync(v, DeactivationReason.CapacityLimit))).ConfigureAwait(false);
                    if (!results.Any(r => r))
                    {
                        break;
                    }
                }
            }
            catch (Exception ex)
            {
                LogEvictionFailed(ex);
            }
            finally
            {
                Volatile.Write(ref _evicting, 0);
            }

            if (_activations.Count <= _runtime.Options.MaxActivations || Interlocked.Exchange(ref _evicting, 1) == 1)
            {
                return;
            }
        }
    }

    private async Task<bool> DeactivateAsync(ActivationData activation, DeactivationReason reason)
    {
        await activation.Gate.EnterAsync(readOnly: false, _runtime.Time, deadline: 0, CancellationToken.None).ConfigureAwait(false);
        try
        {
            if (activation.State != ActivationState.Valid)
            {
                return false;
            }

            if (reason == DeactivationReason.Idle
                && (activation.Gate.QueueLength > 0
                    || _runtime.Time.GetElapsedTime(activation.LastActiveTimestamp) < _runtime.Options.IdleDeactivationAge))
            {
                return false;
            }

            activation.State = ActivationState.Deactivating;
            activation.DisposeTimers();

            // OnDeactivateAsync is the activation's last turn: calls it makes carry this activation on
            // their chain, so a call back into it fails fast as a cycle instead of waiting out the timeout.
            CallChain.Clear();
            var node = CallChain.Enter(activation);
            try
            {
                using var cts = new CancellationTokenSource(_runtime.Options.DeactivationTimeout, _runtime.Time);
                await activation.Instance!.OnDeactivateAsync(reason, cts.Token).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                LogDeactivationFailed(ex, activation.Id);
            }
            finally
            {
                node.Finish();
            }

            activation.State = ActivationState.Invalid;

            // References cache their activation: do not let a kept reference hold the dead grain.
            activation.Instance = null;
            _activations.TryRemove(new KeyValuePair<GrainId, ActivationData>(activation.Id, activation));
            LogDeactivated(activation.Id, reason);
            return true;
        }
        finally
        {
            activation.Gate.Exit(readOnly: false);
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Activated {GrainId}")]
    private partial void LogActivated(GrainId grainId);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Deactivated {GrainId} ({Reason})")]
    private partial void LogDeactivated(GrainId grainId, DeactivationReason reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Activation of {GrainId} failed")]
    private partial void LogActivationFailed(Exception exception, GrainId grainId);

    [LoggerMessage(Level = LogLevel.Error, Message = "Eviction of activations over MaxActivations failed")]
    private partial void LogEvictionFailed(Exception exception);

    [LoggerMessage(Level = LogLevel.Error, Message = "OnDeactivateAsync of {GrainId} failed")]
    private partial void LogDeactivationFailed(Exception exception, GrainId grainId);
}
