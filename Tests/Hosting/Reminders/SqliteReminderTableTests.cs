using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Orleans.Runtime;
using OrleansShards.Grains.Hosting.Reminders;
using OrleansShards.Tests.Infrastructure;

namespace OrleansShards.Tests.Hosting.Reminders;

/// <summary>The <see cref="SqliteReminderTable"/> against a real SQLite file.</summary>
public sealed class SqliteReminderTableTests : IDisposable
{
    private static readonly DateTime Start = new(2030, 1, 2, 3, 4, 5, DateTimeKind.Utc);
    private readonly TempDirectory _dir = new("sqlite-reminders");

    public void Dispose() => _dir.Dispose();

    private SqliteReminderTable Open() => new(
        Options.Create(new SqliteReminderTableOptions { DatabasePath = _dir.Combine("sub/reminders.db") }),
        NullLogger<SqliteReminderTable>.Instance);

    private static ReminderEntry Entry(GrainId grain, string name, int periodSeconds = 60) => new()
    {
        GrainId = grain,
        ReminderName = name,
        StartAt = Start,
        Period = TimeSpan.FromSeconds(periodSeconds),
    };

    private static GrainId Grain(string key) => GrainId.Create("probe", key);

    [Fact]
    public async Task UpsertRow_then_ReadRow_returns_all_fields_and_the_returned_etag()
    {
        await using var table = Open();
        await table.StartAsync();
        var grain = Grain("a");

        var etag = await table.UpsertRow(Entry(grain, "r1", 90));

        var row = await table.ReadRow(grain, "r1");
        Assert.NotNull(row);
        Assert.False(string.IsNullOrEmpty(etag));
        Assert.Equal(etag, row.ETag);
        Assert.Equal(grain, row.GrainId);
        Assert.Equal("r1", row.ReminderName);
        Assert.Equal(Start, row.StartAt);
        Assert.Equal(DateTimeKind.Utc, row.StartAt.Kind);
        Assert.Equal(TimeSpan.FromSeconds(90), row.Period);
        Assert.Null(await table.ReadRow(grain, "other"));
        Assert.Null(await table.ReadRow(Grain("b"), "r1"));
    }

    [Fact]
    public async Task UpsertRow_overwrites_the_row_and_returns_a_new_etag()
    {
        await using var table = Open();
        var grain = Grain("a");
        var first = await table.UpsertRow(Entry(grain, "r", 60));

        var second = await table.UpsertRow(Entry(grain, "r", 120));

        Assert.NotEqual(first, second);
        var row = Assert.Single((await table.ReadRows(grain)).Reminders);
        Assert.Equal(second, row.ETag);
        Assert.Equal(TimeSpan.FromSeconds(120), row.Period);
    }

    [Fact]
    public async Task ReadRows_by_grain_returns_only_that_grains_reminders()
    {
        await using var table = Open();
        await table.UpsertRow(Entry(Grain("a"), "r1"));
        await table.UpsertRow(Entry(Grain("a"), "r2"));
        await table.UpsertRow(Entry(Grain("b"), "r1"));

        var rows = (await table.ReadRows(Grain("a"))).Reminders;

        Assert.Equal(["r1", "r2"], rows.Select(r => r.ReminderName).Order());
        Assert.All(rows, r => Assert.Equal(Grain("a"), r.GrainId));
    }

    [Fact]
    public async Task RemoveRow_removes_only_when_the_etag_matches()
    {
        await using var table = Open();
        var grain = Grain("a");
        var stale = await table.UpsertRow(Entry(grain, "r"));
        var current = await table.UpsertRow(Entry(grain, "r"));

        Assert.False(await table.RemoveRow(grain, "r", stale!));
        Assert.NotNull(await table.ReadRow(grain, "r"));
        Assert.False(await table.RemoveRow(grain, "other", current!));

        Assert.True(await table.RemoveRow(grain, "r", current!));
        Assert.Null(await table.ReadRow(grain, "r"));
        Assert.False(await table.RemoveRow(grain, "r", current!));
    }

    [Fact]
    public async Task ReadRows_by_range_excludes_begin_includes_end_and_wraps_around()
    {
        await using var table = Open();
        var grains = Enumerable.Range(0, 64).Select(i => Grain("g" + i)).ToList();
        foreach (var grain in grains)
        {
            await table.UpsertRow(Entry(grain, "r"));
        }

        var hashes = grains.Select(g => g.GetUniformHashCode()).Order().ToList();
        var low = hashes[10];
        var high = hashes[40];

        // Plain range (low, high]: begin excluded, end included.
        var plain = await Hashes(table, low, high);
        Assert.Equal(hashes.Where(h => h > low && h <= high), plain);
        Assert.DoesNotContain(low, plain);
        Assert.Contains(high, plain);
        Assert.Equal(30, plain.Count);

        // Wrap-around (high, low]: above high or at/below low.
        var wrapped = await Hashes(table, high, low);
        Assert.Equal(hashes.Where(h => h > high || h <= low), wrapped);
        Assert.Equal(64 - 30, wrapped.Count);

        // begin == end is the whole ring.
        Assert.Equal(hashes, await Hashes(table, low, low));
        Assert.Equal(hashes, await Hashes(table, 0, 0));

        // Extremes of the uint range.
        Assert.Equal(hashes.Where(h => h > 0), await Hashes(table, 0, uint.MaxValue));
        Assert.Equal(hashes.Where(h => h <= high), await Hashes(table, uint.MaxValue, high));
    }

    [Fact]
    public async Task Rows_are_durable_after_the_file_is_reopened()
    {
        var grain = Grain("durable");
        string? etag;
        await using (var table = Open())
        {
            etag = await table.UpsertRow(Entry(grain, "r", 45));
            await table.UpsertRow(Entry(grain, "gone"));
            Assert.True(await table.RemoveRow(grain, "gone", (await table.ReadRow(grain, "gone"))!.ETag!));
        }

        await using var reopened = Open();
        await reopened.StartAsync();
        var row = Assert.Single((await reopened.ReadRows(grain)).Reminders);
        Assert.Equal("r", row.ReminderName);
        Assert.Equal(etag, row.ETag);
        Assert.Equal(TimeSpan.FromSeconds(45), row.Period);
        Assert.Equal(Start, row.StartAt);
        Assert.True(await reopened.RemoveRow(grain, "r", etag!));
    }

    [Fact]
    public async Task TestOnlyClearTable_removes_every_row()
    {
        await using var table = Open();
        await table.UpsertRow(Entry(Grain("a"), "r"));
        await table.UpsertRow(Entry(Grain("b"), "r"));

        await table.TestOnlyClearTable();

        Assert.Empty((await table.ReadRows(0, 0)).Reminders);
    }

    [Fact]
    public async Task Concurrent_upserts_from_many_tasks_are_all_stored()
    {
        await using var table = Open();

        await Task.WhenAll(Enumerable.Range(0, 200).Select(i => Task.Run(() => table.UpsertRow(Entry(Grain("c" + (i % 20)), "r" + (i / 20))))));

        Assert.Equal(200, (await table.ReadRows(0, 0)).Reminders.Count);
    }

    [Fact]
    public async Task Calls_after_dispose_throw_ObjectDisposedException()
    {
        var table = Open();
        await table.UpsertRow(Entry(Grain("a"), "r"));
        await table.DisposeAsync();

        await Assert.ThrowsAsync<ObjectDisposedException>(() => table.UpsertRow(Entry(Grain("a"), "r")).WaitAsync(TimeSpan.FromSeconds(5)));
        await Assert.ThrowsAsync<ObjectDisposedException>(() => table.ReadRows(0, 0).WaitAsync(TimeSpan.FromSeconds(5)));
    }

    private static async Task<List<uint>> Hashes(SqliteReminderTable table, uint begin, uint end) =>
        (await table.ReadRows(begin, end)).Reminders.Select(r => r.GrainId.GetUniformHashCode()).Order().ToList();
}
