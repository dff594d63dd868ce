using System.Collections.Concurrent;
using System.Linq.Expressions;
using System.Reflection;

namespace OrleansShards.Runtime.Calls;

/// <summary>
/// How one grain interface method is called: compiled once per method (no reflection per call),
/// with its <see cref="ReadOnlyAttribute"/> flag and the position of its <see cref="CancellationToken"/>.
/// Grain methods return <see cref="Task"/> or <see cref="Task{TResult}"/>.
/// </summary>
internal abstract class GrainMethodInvoker
{
    private static readonly ConcurrentDictionary<MethodInfo, GrainMethodInvoker> Cache = new();

    public abstract object Dispatch(GrainRuntime runtime, GrainReference reference, object?[] args);

    public static GrainMethodInvoker For(MethodInfo method) => Cache.GetOrAdd(method, Create);

    private static GrainMethodInvoker Create(MethodInfo method)
    {
        // Read-only and concurrent turns share the gate; only writing turns are exclusive.
        var readOnly = method.GetCustomAttribute<ReadOnlyAttribute>(inherit: true) is not null
            || method.GetCustomAttribute<ConcurrentTurnAttribute>(inherit: true) is not null;
        var tokenIndex = Array.FindIndex(method.GetParameters(), p => p.ParameterType == typeof(CancellationToken));
        var returnType = method.ReturnType;
        Type resultType;
        if (returnType == typeof(Task))
        {
            resultType = typeof(VoidResult);
        }
        else if (returnType.IsGenericType && returnType.GetGenericTypeDefinition() == typeof(Task<>))
        {
            resultType = returnType.GetGenericArguments()[0];
        }
        else
        {
            throw new NotSupportedException($"Grain method {method.DeclaringType?.Name}.{method.Name} must return Task or Task<T>.");
        }

        var timeout = method.GetCustomAttribute<ResponseTimeoutAttribute>(inherit: true)?.Timeout;
        var invokerType = typeof(Typed<>).MakeGenericType(resultType);
        return (GrainMethodInvoker)Activator.CreateInstance(invokerType, method, readOnly, tokenIndex, timeout)!;
    }

    /// <summary>Stands in for the result of a method returning plain <see cref="Task"/>.</summary>
    internal readonly struct VoidResult;

    private sealed class Typed<T> : GrainMethodInvoker
    {
        private readonly Func<object, object?[], Task<T>> _call;
        private readonly bool _readOnly;
        private readonly int _tokenIndex;
        private readonly bool _void;
        private readonly TimeSpan? _timeout;

        public Typed(MethodInfo method, bool readOnly, int tokenIndex, TimeSpan? timeout)
        {
            _timeout = timeout;
            _readOnly = readOnly;
            _tokenIndex = tokenIndex;
            _void = typeof(T) == typeof(VoidResult);
            _call = Compile(method, _void);
        }

        public override object Dispatch(GrainRuntime runtime, GrainReference reference, object?[] args)
        {
            var token = _tokenIndex >= 0 && args[_tokenIndex] is CancellationToken ct ? ct : CancellationToken.None;

            // The compiled call takes (grain, args) itself: no closure or delegate per call.
            return runtime.CallAsync(reference.GrainId, _readOnly, _call, args, reference, token, _timeout);
        }

        private static Func<object, object?[], Task<T>> Compile(MethodInfo method, bool isVoid)
        {
            var target = Expression.Parameter(typeof(object), "grain");
            var args = Expression.Parameter(typeof(object?[]), "args");
            var parameters = method.GetParameters()
                .Select((p, i) => (Expression)Expression.Convert(Expression.ArrayIndex(args, Expression.Constant(i)), p.ParameterType));
            Expression call = Expression.Call(Expression.Convert(target, method.DeclaringType!), method, parameters);
            if (isVoid)
            {
                call = Expression.Call(typeof(Typed<T>).GetMethod(nameof(ToVoid), BindingFlags.NonPublic | BindingFlags.Static)!, call);
            }

            return Expression.Lambda<Func<object, object?[], Task<T>>>(call, target, args).Compile();
        }

        private static async Task<VoidResult> ToVoid(Task task)
        {
            await task.ConfigureAwait(false);
            return default;
        }
    }
}
