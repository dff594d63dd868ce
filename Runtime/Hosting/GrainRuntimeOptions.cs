namespace OrleansShards.Runtime;

/// <summary>Options of the grain runtime. Every default is stated; invalid values fail the host at start.</summary>
public sealed class GrainRuntimeOptions
{
    /// <summary>Longest a call may take, queueing included, before the caller gets a timeout error. Default 30 s.</summary>
    public TimeSpan CallTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>An activation with no call for this long is deactivated. Default 15 minutes.</summary>
    public TimeSpan IdleDeactivationAge { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>How often idle activations are looked for. Default 1 minute.</summary>
    public TimeSpan CollectionInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Most live activations; beyond it the least recently used idle ones are deactivated. Default 100,000.</summary>
    public int MaxActivations { get; set; } = 100_000;

    /// <summary>Longest <c>OnActivateAsync</c> may run before its token is cancelled. Default 30 s.</summary>
    public TimeSpan ActivationTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Longest <c>OnDeactivateAsync</c> may run before its token is cancelled. Default 30 s.</summary>
    public TimeSpan DeactivationTimeout { get; set; } = TimeSpan.FromSeconds(30);
}
