using OrleansShards.Runtime;
using OrleansShards.Runtime.Reminders;
using OrleansShards.Tests.Infrastructure;

namespace OrleansShards.Tests.Runtime;

/// <summary>The reminder rows in the silo's SQLite file.</summary>
public sealed class ReminderTableTests
{
    [Fact]
    public async Task UpsertAsync_throws_ObjectDisposedException_instead_of_hanging_when_table_was_disposed()
    {
        // Regression: DisposeAsync kept the table's semaphore, so every later call waited forever.
        using var dir = new TempDirectory("reminder-table");
        var table = await ReminderTable.OpenAsync(dir.Combine("reminders.db"), CancellationToken.None);
        var at = DateTimeOffset.UnixEpoch.AddDays(1);
        var entry = new ReminderEntry(new GrainId("T", "k"), "r", at, TimeSpan.FromMinutes(1), at);
        await table.UpsertAsync(entry);

        await table.DisposeAsync();

        await Assert.ThrowsAsync<ObjectDisposedException>(() => table.UpsertAsync(entry).Within());
        await Assert.ThrowsAsync<ObjectDisposedException>(() => table.DeleteAsync(entry.Grain, "r").Within());
    }

    [Fact]
    public async Task ReadAllAsync_returns_rows_written_before_reopen_when_file_is_reopened()
    {
        using var dir = new TempDirectory("reminder-table");
        var path = dir.Combine("reminders.db");
        var at = DateTimeOffset.UnixEpoch.AddDays(1);
        await using (var table = await ReminderTable.OpenAsync(path, CancellationToken.None))
        {
            await table.UpsertAsync(new ReminderEntry(new GrainId("T", "k"), "r", at, TimeSpan.FromMinutes(1), at.AddMinutes(3)));
        }

        await using var reopened = await ReminderTable.OpenAsync(path, CancellationToken.None);
        var row = Assert.Single(await reopened.ReadAllAsync());

        Assert.Equal(new GrainId("T", "k"), row.Grain);
        Assert.Equal("r", row.ReminderName);
        Assert.Equal(TimeSpan.FromMinutes(1), row.Period);
        Assert.Equal(at.AddMinutes(3), row.NextDue);
    }
}
