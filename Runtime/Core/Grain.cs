using Microsoft.Extensions.DependencyInjection;
using OrleansShards.Runtime.Activation;
using OrleansShards.Runtime.Reminders;
using OrleansShards.Runtime.Streams;
using OrleansShards.Runtime.Timers;

namespace OrleansShards.Runtime;

/// <summary>
/// Base class of every grain. The runtime creates one activation per <see cref="GrainId"/> on first
/// call, runs <see cref="OnActivateAsync"/> before any call, serves calls one writing turn at a time,
/// and runs <see cref="OnDeactivateAsync"/> when the activation is collected (idle, evicted, or the
/// silo stops). Constructor parameters are resolved from the silo's services.
/// </summary>
public abstract class Grain
{
    private ActivationData? _activation;

    /// <summary>This grain's identity.</summary>
    public GrainId GrainId => Activation.Id;

    /// <summary>Creates references to other grains (and to this one).</summary>
    protected IGrainFactory GrainFactory => Activation.Runtime.Factory;

    /// <summary>The silo's services.</summary>
    protected IServiceProvider ServiceProvider => Activation.Runtime.Services;

    /// <summary>The runtime's clock; tests substitute a fake one.</summary>
    protected TimeProvider TimeProvider => Activation.Runtime.Time;

    internal ActivationData Activation
    {
        get => _activation ?? throw new InvalidOperationException("The grain is not attached to an activation; grains are created by the runtime, not with new.");
        set => _activation = value;
    }

    /// <summary>The string key this grain was addressed with.</summary>
    public string GetPrimaryKeyString() => Activation.Id.Key;

    /// <summary>Runs once, as the activation's first turn, before any call.</summary>
    public virtual Task OnActivateAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Runs once, as the activation's last turn. Close files and connections here.</summary>
    public virtual Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Deactivates this activation once the current turn ends; the next call creates a new one.</summary>
    protected void DeactivateOnIdle() => Activation.Runtime.Directory.RequestDeactivation(Activation);

    /// <summary>
    /// Registers (or replaces) a durable reminder: it is stored in the silo's SQLite file, survives
    /// restarts, activates this grain, and calls <see cref="IRemindable.ReceiveReminder"/> at least once per tick.
    /// </summary>
    /// <exception cref="InvalidOperationException">The grain does not implement <see cref="IRemindable"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The period is below <see cref="ReminderOptions.MinimumPeriod"/>.</exception>
    protected Task<IGrainReminder> RegisterOrUpdateReminder(string reminderName, TimeSpan dueTime, TimeSpan period)
    {
        if (this is not IRemindable)
        {
            throw new InvalidOperationException($"Grain {GetType().Name} must implement IRemindable to register reminders.");
        }

        return Reminders.RegisterOrUpdateAsync(GrainId, reminderName, dueTime, period);
    }

    /// <summary>Removes a reminder; no further ticks are delivered.</summary>
    protected Task UnregisterReminder(IGrainReminder reminder)
    {
        ArgumentNullException.ThrowIfNull(reminder);
        return Reminders.UnregisterAsync(GrainId, reminder.ReminderName);
    }

    /// <summary>The reminder with this name, or null.</summary>
    protected Task<IGrainReminder?> GetReminder(string reminderName) => Reminders.GetAsync(GrainId, reminderName);

    /// <summary>Every reminder of this grain.</summary>
    protected Task<IReadOnlyList<IGrainReminder>> GetReminders() => Reminders.GetAllAsync(GrainId);

    /// <summary>
    /// Starts a non-durable timer whose callback runs as a writing turn of this activation. It stops
    /// when disposed or when the activation deactivates. Ticks do not keep the grain alive.
    /// </summary>
    protected IDisposable RegisterGrainTimer(Func<CancellationToken, Task> callback, TimeSpan dueTime, TimeSpan period)
    {
        ArgumentNullException.ThrowIfNull(callback);
        return GrainTimer.Start(Activation, callback, dueTime, period);
    }

    /// <summary>The stream provider registered under <paramref name="name"/>.</summary>
    protected IStreamProvider GetStreamProvider(string name) => ServiceProvider.GetRequiredKeyedService<IStreamProvider>(name);

    private ReminderService Reminders => Activation.Runtime.Services.GetService<ReminderService>()
        ?? throw new InvalidOperationException("Reminders are not configured; call AddGrainRuntime with a reminder database.");
}
