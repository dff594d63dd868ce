namespace OrleansShards;

/// <summary>
/// Marks a grain method that may run concurrently with other concurrent and <see cref="ReadOnlyAttribute"/>
/// turns of the same activation, but never beside a writing turn. The grain serializes its own state
/// changes behind it — a table shard funnels concurrent mutations into one group-commit writer, which is
/// what lets many writes share one SQLite transaction while each is acknowledged only after its commit.
/// </summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false, Inherited = true)]
public sealed class ConcurrentTurnAttribute : Attribute
{
}
