using System.Reflection;

namespace OrleansShards.Runtime.Calls;

/// <summary>
/// A typed grain reference: a proxy implementing the grain interface whose every call is dispatched
/// as a turn of the grain's activation. It holds only the grain's id, so it stays valid across
/// deactivation (the next call re-activates the grain).
/// </summary>
public class GrainReference : DispatchProxy
{
    private GrainRuntime? _runtime;
    private GrainId _id;

    /// <summary>The grain this reference addresses.</summary>
    public GrainId GrainId => _id;

    internal void Bind(GrainRuntime runtime, GrainId id)
    {
        _runtime = runtime;
        _id = id;
    }

    /// <inheritdoc />
    protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
    {
        ArgumentNullException.ThrowIfNull(targetMethod);
        if (targetMethod.DeclaringType == typeof(object))
        {
            return targetMethod.Name switch
            {
                nameof(ToString) => _id.ToString(),
                nameof(GetHashCode) => _id.GetHashCode(),
                _ => throw new NotSupportedException($"{targetMethod.Name} is not supported on grain references."),
            };
        }

        var invoker = GrainMethodInvoker.For(targetMethod);
        return invoker.Dispatch(_runtime!, _id, args ?? []);
    }
}
