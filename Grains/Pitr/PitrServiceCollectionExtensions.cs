using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace OrleansShards.Grains.Pitr;

/// <summary>Registers and configures the change log and point-in-time recovery of table shards.</summary>
public static class PitrServiceCollectionExtensions
{
    /// <summary>
    /// Configures <see cref="PitrOptions"/> (validated at start). <c>AddTableShards</c> registers the
    /// defaults; call this to change them.
    /// </summary>
    public static IServiceCollection ConfigurePitr(this IServiceCollection services, Action<PitrOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        AddPitrOptions(services).Configure(configure);
        return services;
    }

    internal static OptionsBuilder<PitrOptions> AddPitrOptions(IServiceCollection services)
    {
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<PitrOptions>, PitrOptionsValidator>());
        return services.AddOptions<PitrOptions>().ValidateOnStart();
    }
}
