using Microsoft.Extensions.Options;
using Orleans;
using Orleans.Runtime;

namespace OrleansShards.Grains.Hosting.Reminders;

/// <summary>Fails silo start when <see cref="SqliteReminderTableOptions"/> is unusable.</summary>
internal sealed class SqliteReminderTableOptionsValidator(IOptions<SqliteReminderTableOptions> options) : IConfigurationValidator
{
    public void ValidateConfiguration()
    {
        if (string.IsNullOrWhiteSpace(options.Value.DatabasePath))
        {
            throw new OrleansConfigurationException(
                $"{nameof(SqliteReminderTableOptions)}.{nameof(SqliteReminderTableOptions.DatabasePath)} must name the SQLite file of the reminder table.");
        }
    }
}
