using Microsoft.Extensions.DependencyInjection;
using Orleans;
using Orleans.Hosting;
using Orleans.Runtime;

namespace OrleansShards.Grains.Hosting.Reminders;

/// <summary>Registers the SQLite reminder table with an Orleans silo.</summary>
public static class SiloBuilderSqliteReminderExtensions
{
    /// <summary>
    /// Adds the Orleans reminder service backed by one SQLite file (see <see cref="SqliteReminderTableOptions"/>).
    /// </summary>
    /// <param name="builder">The silo builder.</param>
    /// <param name="configure">Sets <see cref="SqliteReminderTableOptions.DatabasePath"/>.</param>
    /// <returns>The same builder, for chaining.</returns>
    public static ISiloBuilder UseSqliteReminderService(this ISiloBuilder builder, Action<SqliteReminderTableOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        builder.AddReminders();
        builder.ConfigureServices(services =>
        {
            services.AddOptions<SqliteReminderTableOptions>().Configure(configure);
            services.AddSingleton<IConfigurationValidator, SqliteReminderTableOptionsValidator>();
            services.AddSingleton<SqliteReminderTable>();
            services.AddSingleton<IReminderTable>(sp => sp.GetRequiredService<SqliteReminderTable>());
        });
        return builder;
    }
}
