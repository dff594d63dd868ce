namespace OrleansShards.Runtime.Activation;

/// <summary>One live activation: the grain instance, its turn gate, its state and its timers.</summary>
internal sealed class ActivationData
{
    private readonly List<IDisposable> _timers = [];
    private long _lastActive;

    public ActivationData(GrainId id, GrainRuntime runtime)
    {
        Id = id;
        Runtime = runtime;
        Gate = new TurnGate(heldByWriter: true);
        _lastActive = runtime.Time.GetTimestamp();
    }

    public GrainId Id { get; }

    public GrainRuntime Runtime { get; }

    public TurnGate Gate { get; }

    public Grain? Instance { get; set; }

    public volatile ActivationState State;

    public Exception? ActivationFailure { get; set; }

    public bool DeactivationRequested { get; set; }

    public long LastActiveTimestamp => Volatile.Read(ref _lastActive);

    public void Touch() => Volatile.Write(ref _lastActive, Runtime.Time.GetTimestamp());

    public void AddTimer(IDisposable timer)
    {
        lock (_timers)
        {
            _timers.Add(timer);
        }
    }

    public void RemoveTimer(IDisposable timer)
    {
        lock (_timers)
        {
            _timers.Remove(timer);
        }
    }

    public void DisposeTimers()
    {
        IDisposable[] timers;
        lock (_timers)
        {
            timers = [.. _timers];
            _timers.Clear();
        }

        foreach (var t in timers)
        {
            t.Dispose();
        }
    }

    public override string ToString() => Id.ToString();
}
