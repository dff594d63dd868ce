using System.Collections.Concurrent;
using System.Reflection;

namespace OrleansShards.Runtime;

/// <summary>
/// The in-process <see cref="IGrainFactory"/>: references are proxies whose calls become turns. A reference
/// holds only the grain's id and hints, so one is kept per grain and interface and handed out again.
/// </summary>
internal sealed class GrainFactory(GrainRuntime runtime) : IGrainFactory
{
    private const int MaxCachedReferences = 16_384;
    private readonly ConcurrentDictionary<(Type Interface, string Key), object> _references = new();

    public TGrainInterface GetGrain<TGrainInterface>(string key) where TGrainInterface : IGrainWithStringKey
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        if (_references.TryGetValue((typeof(TGrainInterface), key), out var cached))
        {
            return (TGrainInterface)cached;
        }

        var id = new GrainId(runtime.Registry.GetTypeName(typeof(TGrainInterface)), key);
        var proxy = DispatchProxy.Create<TGrainInterface, Calls.GrainReference>();
        ((Calls.GrainReference)(object)proxy).Bind(runtime, id);
        if (_references.Count >= MaxCachedReferences)
        {
            _references.Clear();
        }

        _references[(typeof(TGrainInterface), key)] = proxy;
        return proxy;
    }
}
