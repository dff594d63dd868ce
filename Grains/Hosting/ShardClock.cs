using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace OrleansShards.Grains.Hosting;

/// <summary>
/// The clock of the shards (transaction expiry, retention, cache ages, bookmarks by time): a keyed
/// <see cref="TimeProvider"/>, so that tests can drive it with a fake clock while Orleans keeps the system one.
/// </summary>
public static class ShardClock
{
    /// <summary>The service key of the shards' <see cref="TimeProvider"/>.</summary>
    public const string ServiceKey = "OrleansShards.Clock";

    /// <summary>Uses <paramref name="time"/> as the shards' clock (the default is <see cref="TimeProvider.System"/>).</summary>
    public static IServiceCollection AddShardClock(this IServiceCollection services, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(time);
        services.RemoveAllKeyed<TimeProvider>(ServiceKey);
        services.AddKeyedSingleton(ServiceKey, time);
        return services;
    }

    /// <summary>Registers the system clock unless a clock was registered.</summary>
    internal static IServiceCollection TryAddShardClock(this IServiceCollection services)
    {
        services.TryAddKeyedSingleton(ServiceKey, TimeProvider.System);
        return services;
    }

    /// <summary>The shards' clock from <paramref name="services"/>.</summary>
    internal static TimeProvider Get(IServiceProvider services) => services.GetRequiredKeyedService<TimeProvider>(ServiceKey);
}
