using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Configuration;
using OrleansShards.Grains.Storage;
using OrleansShards.Tests.Infrastructure;

namespace OrleansShards.Tests.Containment;

/// <summary>
/// Issue 15 item 3: idle shards deactivate and close their files. Nothing periodic keeps them alive or wakes them: the
/// capacity timer does not keep an activation alive and the only durable reminder has a period of at least a day.
/// </summary>
public sealed class IdleShardTests
{
    [Fact]
    public async Task An_idle_shard_deactivates_closes_its_files_and_stays_closed()
    {
        var collectionAge = TimeSpan.FromSeconds(1);
        var capacityPeriod = TimeSpan.FromMilliseconds(100);
        await using var host = await ShardTestHost.StartAsync(
            o =>
            {
                o.CapacityCheckPeriod = capacityPeriod;
                o.ReaderIdleTimeout = TimeSpan.FromMilliseconds(100);
            },
            silo: s => s.Configure<GrainCollectionOptions>(c =>
            {
                c.CollectionQuantum = TimeSpan.FromMilliseconds(200);
                c.CollectionAge = collectionAge;
            }));
        var shard = host.Shard("idle", "items");
        await shard.DdlAsync(new DdlRequest("CREATE TABLE items(id INTEGER PRIMARY KEY)"));
        await shard.MutateAsync(new MutationRequest("INSERT INTO items(id) VALUES (1)"));
        await shard.QueryAsync(new QueryRequest("SELECT * FROM items"));
        var database = Path.Combine(host.DataDirectory, "idle", "items.db");
        Assert.True(OpenDescriptors(database) >= 2, "the open shard holds its files");
        var budget = host.Services.GetRequiredService<ShardFileBudget>();
        Assert.Contains("idle:items", budget.OpenShardNames());

        // Idle past the collection age (capacity ticks every 100 ms meanwhile): Orleans collects it and its files close.
        await Eventually.TrueAsync(
            () => !budget.OpenShardNames().Contains("idle:items") && OpenDescriptors(database) == 0,
            "the idle shard to deactivate and close its files",
            TimeSpan.FromSeconds(20));

        // The one durable reminder of the shard wakes it at most daily.
        await using (var reminders = new SqliteConnection($"Data Source={Path.Combine(host.DataDirectory, ".silo", "reminders.db")};Mode=ReadOnly;Pooling=False"))
        {
            await reminders.OpenAsync();
            await using var command = reminders.CreateCommand();
            command.CommandText = "SELECT reminder_name, period_ticks FROM reminders WHERE grain_id LIKE '%idle:items%'";
            await using var rows = await command.ExecuteReaderAsync();
            var count = 0;
            while (await rows.ReadAsync())
            {
                count++;
                Assert.True(TimeSpan.FromTicks(rows.GetInt64(1)) >= TimeSpan.FromDays(1), $"reminder {rows.GetString(0)} every {TimeSpan.FromTicks(rows.GetInt64(1))}");
            }

            Assert.Equal(1, count);
        }

        // Nothing re-activates it: over several collection ages and many capacity periods it stays closed. (A negative
        // check needs a span of time; the span is what a periodic waker would have used.)
        var until = DateTime.UtcNow + (3 * collectionAge);
        while (DateTime.UtcNow < until)
        {
            Assert.DoesNotContain("idle:items", budget.OpenShardNames());
            Assert.Equal(0, OpenDescriptors(database));
            await Task.Delay(capacityPeriod);
        }
    }

    /// <summary>Descriptors of this process open on the shard's files (<c>.db</c>, <c>-wal</c>, <c>-shm</c>).</summary>
    private static int OpenDescriptors(string database)
    {
        var count = 0;
        foreach (var fd in Directory.EnumerateFileSystemEntries("/proc/self/fd"))
        {
            try
            {
                if (new FileInfo(fd).LinkTarget is { } target && target.StartsWith(database, StringComparison.Ordinal))
                {
                    count++;
                }
            }
            catch (IOException)
            {
                // Closed while enumerating.
            }
        }

        return count;
    }
}
