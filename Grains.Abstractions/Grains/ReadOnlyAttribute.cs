namespace OrleansShards;

/// <summary>
/// Marks a grain method that does not change the grain's state. Read-only turns of one
/// activation may run concurrently with each other, but never beside a writing turn.
/// </summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false, Inherited = true)]
public sealed class ReadOnlyAttribute : Attribute
{
}
