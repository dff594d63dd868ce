namespace OrleansShards.Runtime;

/// <summary>One grain implementation and the grain interfaces it serves (registered by <c>AddGrain</c>).</summary>
public sealed record GrainRegistration(Type Implementation, IReadOnlyList<Type> Interfaces);
