namespace OrleansShards.Tests.Infrastructure.Grains;

/// <summary>Implicitly subscribed to the "probe" stream with its own key.</summary>
public interface IProbeStreamGrain : IGrainWithStringKey;
