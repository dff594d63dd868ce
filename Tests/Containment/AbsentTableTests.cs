using System.Diagnostics;
using System.Net;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Runtime;
using OrleansShards.Tests.Silo;

namespace OrleansShards.Tests.Containment;

/// <summary>
/// Issue 15 item 2: a table exists only after DDL created it. Reads, lookups, stats, writes, bookmarks and transactions
/// of an absent table answer NOT_FOUND and leave nothing behind: no file, no activation, no reminder, no metric series.
/// </summary>
public sealed class AbsentTableTests : IDisposable
{
    private readonly SiloFactory _silo = new();

    public void Dispose() => _silo.Dispose();

    [Fact]
    public async Task Calls_on_an_absent_table_answer_not_found_and_leave_no_file_activation_reminder_or_metric()
    {
        var client = _silo.CreateTenantClient("ghost");
        for (var i = 0; i < 3; i++)
        {
            var table = "nothing" + i;
            await AssertNotFoundAsync(await client.GetAsync($"/v1/tables/{table}/stats"));
            await AssertNotFoundAsync(await client.GetAsync($"/v1/tables/{table}/rows/1"));
            await AssertNotFoundAsync(await client.GetAsync($"/v1/tables/{table}/rows?name=x"));
            await AssertNotFoundAsync(await client.PostRawAsync($"/v1/tables/{table}/query", """{"query":"SELECT 1"}"""));
            await AssertNotFoundAsync(await client.PostRawAsync($"/v1/tables/{table}/mutation", $$"""{"query":"CREATE TABLE {{table}}(id)"}"""));
            await AssertNotFoundAsync(await client.PostRawAsync($"/v1/tables/{table}/batch", """{"statements":[{"query":"SELECT 1"}]}"""));
            await AssertNotFoundAsync(await client.PostRawAsync($"/v1/tables/{table}/transaction", """{"operation":"BEGIN"}"""));
            await AssertNotFoundAsync(await client.PostRawAsync($"/v1/tables/{table}/pitr/bookmark", "{}"));
            await AssertNotFoundAsync(await client.PostRawAsync($"/v1/tables/{table}/stats/refresh", "{}"));
        }

        // No file or directory of the tenant.
        Assert.False(Directory.Exists(Path.Combine(_silo.DataDirectory, "ghost")), "a read of an absent table created files");

        // No reminder of its shards.
        var reminders = Path.Combine(_silo.DataDirectory, ".silo", "reminders.db");
        if (File.Exists(reminders))
        {
            await using var db = new SqliteConnection($"Data Source={reminders};Mode=ReadOnly;Pooling=False");
            await db.OpenAsync();
            await using var command = db.CreateCommand();
            command.CommandText = "SELECT count(*) FROM reminders WHERE grain_id LIKE '%ghost%'";
            Assert.Equal(0L, (long)(await command.ExecuteScalarAsync())!);
        }

        // No metric series naming them.
        var metrics = await client.GetStringAsync("/metrics");
        Assert.DoesNotContain("ghost", metrics, StringComparison.Ordinal);

        // No activation kept: each one let itself go after answering.
        var management = _silo.Services.GetRequiredService<IGrainFactory>().GetGrain<IManagementGrain>(0);
        var watch = Stopwatch.StartNew();
        while (true)
        {
            var live = (await management.GetDetailedGrainStatistics()).Where(s => s.GrainId.ToString().Contains("ghost", StringComparison.Ordinal)).ToList();
            if (live.Count == 0)
            {
                break;
            }

            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(10), "activations of absent tables stayed: " + string.Join(", ", live.Select(s => s.GrainId)));
            await Task.Delay(20);
        }

        // DDL creates the table; then it is served.
        await client.PostOkAsync("/v1/tables/nothing0/ddl", """{"query":"CREATE TABLE nothing0 (id INTEGER PRIMARY KEY, name TEXT)"}""");
        await client.GetOkAsync("/v1/tables/nothing0/stats");
        Assert.True(File.Exists(Path.Combine(_silo.DataDirectory, "ghost", "nothing0.db")));
        Assert.False(File.Exists(Path.Combine(_silo.DataDirectory, "ghost", "nothing1.db")));
    }

    [Fact]
    public async Task Sharding_probes_of_an_absent_table_create_nothing()
    {
        var client = _silo.CreateTenantClient("ghost2");
        using (var discover = await client.GetAsync("/v1/tables/none/shards"))
        {
            Assert.True(discover.IsSuccessStatusCode || discover.StatusCode == HttpStatusCode.NotFound, $"{(int)discover.StatusCode}");
        }

        await AssertNotFoundAsync(await client.PostRawAsync("/v1/tables/none/shard", """{"key":"id","count":2}"""));
        Assert.False(Directory.Exists(Path.Combine(_silo.DataDirectory, "ghost2")), "a sharding probe of an absent table created files");
    }

    [Fact]
    public async Task A_failed_ddl_on_an_absent_table_leaves_no_file_behind()
    {
        var client = _silo.CreateTenantClient("ghost3");
        for (var i = 0; i < 3; i++)
        {
            await client.PostErrorAsync("/v1/tables/bad/ddl", """{"query":"CREATE TABLE bad (id INTEGER PRIMARY KEY"}""", "SQL_ERROR", 400);
            var tenant = Path.Combine(_silo.DataDirectory, "ghost3");
            Assert.True(!Directory.Exists(tenant) || Directory.GetFileSystemEntries(tenant).Length == 0,
                "a failed DDL left " + string.Join(", ", Directory.Exists(tenant) ? Directory.GetFileSystemEntries(tenant) : []));
        }

        // The table can still be created (a call reaching the discarded activation before it is gone answers RETRYABLE).
        var watch = Stopwatch.StartNew();
        while (true)
        {
            using var response = await client.PostRawAsync("/v1/tables/bad/ddl", """{"query":"CREATE TABLE bad (id INTEGER PRIMARY KEY)"}""");
            if (response.IsSuccessStatusCode)
            {
                break;
            }

            await SiloHttp.AssertErrorAsync(response, "RETRYABLE", 503);
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(10), "the table could not be created after a failed DDL");
            await Task.Delay(20);
        }

        await client.GetOkAsync("/v1/tables/bad/stats");
    }

    private static async Task AssertNotFoundAsync(HttpResponseMessage response)
    {
        using (response)
        {
            await SiloHttp.AssertErrorAsync(response, "NOT_FOUND", 404);
        }
    }
}
