using System.Reflection;

namespace OrleansShards.Runtime;

/// <summary>The in-process <see cref="IGrainFactory"/>: references are proxies whose calls become turns.</summary>
internal sealed class GrainFactory(GrainRuntime runtime) : IGrainFactory
{
    public TGrainInterface GetGrain<TGrainInterface>(string key) where TGrainInterface : IGrainWithStringKey
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        var id = new GrainId(runtime.Registry.GetTypeName(typeof(TGrainInterface)), key);
        var proxy = DispatchProxy.Create<TGrainInterface, Calls.GrainReference>();
        ((Calls.GrainReference)(object)proxy).Bind(runtime, id);
        return proxy;
    }
}
