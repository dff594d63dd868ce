namespace OrleansShards.Runtime;

/// <summary>Live figures of the silo's grain runtime (for health checks and metrics).</summary>
public interface IGrainRuntimeStatistics
{
    /// <summary>Activations currently in the activation table (activating, live or deactivating).</summary>
    int ActivationCount { get; }
}
