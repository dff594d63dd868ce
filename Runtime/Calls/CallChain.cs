using OrleansShards.Runtime.Activation;

namespace OrleansShards.Runtime.Calls;

/// <summary>
/// The chain of turns a call was made from, carried in an <see cref="AsyncLocal{T}"/>. A call to an
/// activation whose turn is still running further up the chain is a cycle (A→B→A) and fails at once.
/// A node is marked finished when its turn ends, so work a turn left running in the background
/// (fire-and-forget) may call back into the grain later without being mistaken for a cycle. The walk
/// stops at the first finished node: the turns above it no longer wait for anything below it.
/// </summary>
internal sealed class CallChain
{
    private static readonly AsyncLocal<CallChain?> CurrentLocal = new();
    private volatile bool _finished;

    private CallChain(ActivationData activation, CallChain? parent)
    {
        Activation = activation;
        Parent = parent;
    }

    public ActivationData Activation { get; }

    public CallChain? Parent { get; }

    public static CallChain? Current => CurrentLocal.Value;

    public static CallChain Enter(ActivationData activation)
    {
        var node = new CallChain(activation, CurrentLocal.Value);
        CurrentLocal.Value = node;
        return node;
    }

    public static void Clear() => CurrentLocal.Value = null;

    public void Finish() => _finished = true;

    /// <summary>True when a running turn of <paramref name="target"/> is on the current chain.</summary>
    public static bool IsCycle(GrainId target)
    {
        for (var node = CurrentLocal.Value; node is not null && !node._finished; node = node.Parent)
        {
            if (node.Activation.Id == target)
            {
                return true;
            }
        }

        return false;
    }
}
