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
    private InvokerEntry? _lastInvoker;

    /// <summary>The grain this reference addresses.</summary>
    public GrainId GrainId => _id;

    /// <summary>The activation that served the last call (a hint; the runtime re-checks it).</summary>
    internal Activation.ActivationData? CachedActivation { get; set; }

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

        // One-entry cache: a reference is usually called with the same method again; DispatchProxy
        // passes the same MethodInfo instance each time, so a reference check skips the dictionary.
        var last = _lastInvoker;
        GrainMethodInvoker invoker;
        if (last is not null && ReferenceEquals(last.Method, targetMethod))
        {
            invoker = last.Invoker;
        }
        else
        {
            invoker = GrainMethodInvoker.For(targetMethod);
            _lastInvoker = new InvokerEntry(targetMethod, invoker);
        }

        return invoker.Dispatch(_runtime!, this, args ?? []);
    }

    private sealed record InvokerEntry(MethodInfo Method, GrainMethodInvoker Invoker);
}
