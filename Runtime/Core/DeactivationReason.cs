namespace OrleansShards.Runtime;

/// <summary>Why an activation is being deactivated.</summary>
public enum DeactivationReason
{
    /// <summary>Idle longer than <see cref="GrainRuntimeOptions.IdleDeactivationAge"/>.</summary>
    Idle,
    /// <summary>The grain asked for it with <see cref="Grain.DeactivateOnIdle"/>.</summary>
    Requested,
    /// <summary>Evicted to keep live activations under <see cref="GrainRuntimeOptions.MaxActivations"/>.</summary>
    CapacityLimit,
    /// <summary>The silo is stopping.</summary>
    ShuttingDown,
}
