using System.Collections.Frozen;
using System.Reflection;
using OrleansShards.Runtime.Streams;

namespace OrleansShards.Runtime;

/// <summary>Maps grain interfaces to their implementation and stream namespaces to implicit subscribers.</summary>
internal sealed class GrainTypeRegistry
{
    private readonly FrozenDictionary<Type, string> _byInterface;
    private readonly FrozenDictionary<string, Type> _byName;
    private readonly FrozenDictionary<string, string[]> _implicitSubscribers;

    public GrainTypeRegistry(IEnumerable<GrainRegistration> registrations)
    {
        var byInterface = new Dictionary<Type, string>();
        var byName = new Dictionary<string, Type>(StringComparer.Ordinal);
        var implicitSubs = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var registration in registrations)
        {
            var impl = registration.Implementation;
            if (!typeof(Grain).IsAssignableFrom(impl) || impl.IsAbstract)
            {
                throw new InvalidOperationException($"{impl.FullName} must be a concrete class deriving from Grain.");
            }

            var name = GrainTypeName(impl);
            byName[name] = impl;
            foreach (var iface in registration.Interfaces)
            {
                if (!iface.IsInterface || !typeof(IGrainWithStringKey).IsAssignableFrom(iface) || !iface.IsAssignableFrom(impl))
                {
                    throw new InvalidOperationException($"{impl.FullName} does not implement grain interface {iface.FullName}.");
                }

                if (byInterface.TryGetValue(iface, out var other) && other != name)
                {
                    throw new InvalidOperationException($"Grain interface {iface.FullName} has two implementations: {other} and {name}.");
                }

                byInterface[iface] = name;
            }

            foreach (var attribute in impl.GetCustomAttributes<ImplicitStreamSubscriptionAttribute>())
            {
                if (!implicitSubs.TryGetValue(attribute.Namespace, out var list))
                {
                    implicitSubs[attribute.Namespace] = list = [];
                }

                list.Add(name);
            }
        }

        _byInterface = byInterface.ToFrozenDictionary();
        _byName = byName.ToFrozenDictionary(StringComparer.Ordinal);
        _implicitSubscribers = implicitSubs.ToFrozenDictionary(kv => kv.Key, kv => kv.Value.ToArray(), StringComparer.Ordinal);
    }

    public static string GrainTypeName(Type implementation) => implementation.FullName ?? implementation.Name;

    public string GetTypeName(Type grainInterface) =>
        _byInterface.TryGetValue(grainInterface, out var name)
            ? name
            : throw new ArgumentException($"No grain implementation is registered for {grainInterface.FullName}; register one with AddGrain.", nameof(grainInterface));

    public Type GetImplementation(string typeName) =>
        _byName.TryGetValue(typeName, out var type)
            ? type
            : throw new InvalidOperationException($"Grain type {typeName} is not registered.");

    public bool IsRegistered(string typeName) => _byName.ContainsKey(typeName);

    public IReadOnlyList<string> GetImplicitSubscribers(string streamNamespace) =>
        _implicitSubscribers.TryGetValue(streamNamespace, out var list) ? list : [];
}
