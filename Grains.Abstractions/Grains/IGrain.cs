namespace OrleansShards;

/// <summary>Marker for every grain interface. A grain is addressed by its interface and a key.</summary>
public interface IGrain
{
}
