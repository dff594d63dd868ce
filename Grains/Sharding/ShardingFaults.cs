namespace OrleansShards.Grains.Sharding;

/// <summary>
/// Test hook: called at each step boundary of an operation (<c>copy</c>, <c>catchup</c>, <c>switch</c>, <c>prepare</c>,
/// <c>flip</c>, <c>commit</c>, <c>cleanup</c>). Throwing <see cref="SimulatedCrashException"/> abandons the operation
/// exactly as a process death would: no rollback, no journal update.
/// </summary>
internal sealed class ShardingFaults
{
    public Action<string>? OnStep { get; set; }

    public void Step(string step) => OnStep?.Invoke(step);
}

/// <summary>Thrown by a <see cref="ShardingFaults"/> hook to simulate a crash at a step boundary.</summary>
internal sealed class SimulatedCrashException(string step) : Exception($"Simulated crash at step '{step}'.")
{
    public string StepName { get; } = step;
}
