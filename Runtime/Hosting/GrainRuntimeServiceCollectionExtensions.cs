using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OrleansShards.Runtime.Hosting;
using OrleansShards.Runtime.Reminders;
using OrleansShards.Runtime.Streams;
using OrleansShards.Runtime.Streams.Redis;

namespace OrleansShards.Runtime;

/// <summary>Registers the grain runtime, grains and stream providers.</summary>
public static class GrainRuntimeServiceCollectionExtensions
{
    /// <summary>
    /// Adds the grain runtime: <see cref="IGrainFactory"/>, activation collection, durable reminders
    /// and shutdown deactivation. Options are validated when the host starts.
    /// </summary>
    public static IServiceCollection AddGrainRuntime(
        this IServiceCollection services,
        Action<GrainRuntimeOptions>? configure = null,
        Action<ReminderOptions>? configureReminders = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var runtimeOptions = services.AddOptions<GrainRuntimeOptions>().ValidateOnStart();
        if (configure is not null)
        {
            runtimeOptions.Configure(configure);
        }

        var reminderOptions = services.AddOptions<ReminderOptions>().ValidateOnStart();
        if (configureReminders is not null)
        {
            reminderOptions.Configure(configureReminders);
        }

        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<GrainRuntimeOptions>, GrainRuntimeOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ReminderOptions>, GrainRuntimeOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<GrainTypeRegistry>();
        services.TryAddSingleton<GrainRuntime>();
        services.TryAddSingleton<IGrainRuntimeStatistics>(sp => sp.GetRequiredService<GrainRuntime>());
        services.TryAddSingleton<IGrainFactory>(sp => sp.GetRequiredService<GrainRuntime>().Factory);
        services.TryAddSingleton<ReminderService>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, GrainRuntimeHostedService>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, ReminderService>(sp => sp.GetRequiredService<ReminderService>()));
        return services;
    }

    /// <summary>Registers grain class <typeparamref name="TGrain"/> serving interface <typeparamref name="TInterface"/>.</summary>
    public static IServiceCollection AddGrain<TInterface, TGrain>(this IServiceCollection services)
        where TInterface : IGrainWithStringKey
        where TGrain : Grain, TInterface
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddSingleton(new GrainRegistration(typeof(TGrain), [typeof(TInterface)]));
        return services;
    }

    /// <summary>Registers a grain class reached only through streams or reminders (no interface).</summary>
    public static IServiceCollection AddGrain<TGrain>(this IServiceCollection services)
        where TGrain : Grain
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddSingleton(new GrainRegistration(typeof(TGrain), []));
        return services;
    }

    /// <summary>Adds an in-memory stream provider named <paramref name="name"/>.</summary>
    public static IServiceCollection AddMemoryStreams(this IServiceCollection services, string name, Action<MemoryStreamOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentException.ThrowIfNullOrEmpty(name);
        var options = new MemoryStreamOptions();
        configure?.Invoke(options);
        if (options.MaxDeliveryAttempts < 1)
        {
            throw new OptionsValidationException(name, typeof(MemoryStreamOptions), ["MemoryStreamOptions.MaxDeliveryAttempts must be at least 1."]);
        }

        services.AddKeyedSingleton<IStreamProvider>(name, (sp, _) => new MemoryStreamProvider(
            name,
            sp.GetRequiredService<GrainRuntime>(),
            options,
            sp.GetRequiredService<ILoggerFactory>().CreateLogger<MemoryStreamProvider>()));
        return services;
    }

    /// <summary>
    /// Adds a Redis Streams provider named <paramref name="name"/>: durable at publish (XADD), a
    /// consumer group per silo service, acknowledged after handling, idle items re-claimed.
    /// Options are validated here; the connection is made in the background, so the silo starts
    /// while Redis is down and publishing fails until it is back.
    /// </summary>
    /// <exception cref="OptionsValidationException">An option is invalid; the message names it.</exception>
    public static IServiceCollection AddRedisStreams(this IServiceCollection services, string name, Action<RedisStreamOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentException.ThrowIfNullOrEmpty(name);
        var options = new RedisStreamOptions();
        configure?.Invoke(options);
        var failures = RedisStreamOptionsValidator.Validate(options);
        if (failures.Count > 0)
        {
            throw new OptionsValidationException(name, typeof(RedisStreamOptions), failures);
        }

        services.AddKeyedSingleton(name, (sp, _) => new RedisStreamProvider(
            name,
            sp.GetRequiredService<GrainRuntime>(),
            options,
            sp.GetRequiredService<ILoggerFactory>().CreateLogger<RedisStreamProvider>()));
        services.AddKeyedSingleton<IStreamProvider>(name, (sp, key) => sp.GetRequiredKeyedService<RedisStreamProvider>(key));
        services.AddSingleton<IHostedService>(sp => sp.GetRequiredKeyedService<RedisStreamProvider>(name));
        return services;
    }
}
