namespace OrleansShards.Runtime;

/// <summary>The grain's constructor or <see cref="Grain.OnActivateAsync"/> failed with an untyped error; the inner exception says why. (A <see cref="ShardException"/> from activation reaches the caller as itself.)</summary>
public sealed class GrainActivationException : Exception
{
    public GrainActivationException(GrainId id, Exception inner)
        : base($"Activation of grain {id} failed: {inner.Message}", inner)
    {
        GrainId = id;
    }

    public GrainId GrainId { get; }
}
