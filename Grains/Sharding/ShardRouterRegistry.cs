namespace OrleansShards.Grains.Sharding;

/// <summary>A custom router registered with <c>AddShardRouter</c>.</summary>
internal sealed record ShardRouterRegistration(string Name, IShardRouter Router);

/// <summary>The custom routers of the silo, by name.</summary>
internal sealed class ShardRouterRegistry(IEnumerable<ShardRouterRegistration> registrations)
{
    private readonly Dictionary<string, IShardRouter> _routers = registrations.ToDictionary(r => r.Name, r => r.Router, StringComparer.Ordinal);

    public IShardRouter? Find(string? name) => name is not null && _routers.TryGetValue(name, out var router) ? router : null;
}
