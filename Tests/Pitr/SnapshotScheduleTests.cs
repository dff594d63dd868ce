using OrleansShards.Grains.Pitr;
using OrleansShards.Tests.Infrastructure;

namespace OrleansShards.Tests.Pitr;

/// <summary>
/// When a shard takes its snapshots: by count once enough of the shard's size was logged
/// (<see cref="PitrOptions.SnapshotLogFraction"/>), by time, and across restarts of the shard.
/// </summary>
public sealed class SnapshotScheduleTests
{
    private const string Tenant = "acme";
    private const string Table = "docs";

    // 3,000 rows of about 200 bytes: about 0.6 MB of data, and as much again in the log row of the insert.
    private const string BulkInsert = """
        INSERT INTO docs(body) WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 3000)
        SELECT printf('%0200d', i) FROM s
        """;

    [Fact]
    public async Task A_snapshot_by_count_waits_until_the_log_since_the_last_one_is_the_configured_fraction_of_the_shard()
    {
        await using var host = await ShardTestHost.StartAsync(services: s => s.ConfigurePitr(o =>
        {
            o.SnapshotEveryCommits = 1;
            o.SnapshotLogFraction = 0.25;
            o.SnapshotInterval = TimeSpan.FromDays(365);
        }));
        var shard = host.Shard(Tenant, Table);
        var snapshots = Snapshots(host.DataDirectory);
        await shard.DdlAsync(new DdlRequest("CREATE TABLE docs(id INTEGER PRIMARY KEY, body TEXT NOT NULL)"));

        // The bulk insert logs about half of what the file then holds: due.
        var bulk = await SequenceOf(shard.MutateAsync(new MutationRequest(BulkInsert)));
        await shard.RefreshCapacityAsync();
        Assert.Equal([bulk], snapshots.List());

        // Forty one-row updates log a few percent of the file: due by count every time, never by size.
        for (var i = 1; i <= 40; i++)
        {
            await shard.MutateAsync(new MutationRequest("UPDATE docs SET body = ? WHERE id = ?", ["small " + i, i]));
            await shard.RefreshCapacityAsync();
        }

        Assert.Equal([bulk], snapshots.List());

        // Rewriting every row logs old and new bodies: more than a quarter of the file again.
        var rewrite = await SequenceOf(shard.MutateAsync(new MutationRequest("UPDATE docs SET body = body || 'x'")));
        await shard.RefreshCapacityAsync();
        Assert.Equal([bulk, rewrite], snapshots.List());
    }

    [Fact]
    public async Task A_restarted_shard_counts_the_log_an_earlier_activation_wrote_since_the_snapshot()
    {
        using var dir = new TempDirectory("snapshot-schedule");
        void Configure(PitrOptions o)
        {
            o.SnapshotEveryCommits = 3;
            o.SnapshotLogFraction = 0.25;
            o.SnapshotInterval = TimeSpan.FromDays(365);
        }

        var snapshots = Snapshots(dir.Path);
        long first;
        await using (var host = await ShardTestHost.StartAsync(dataDirectory: dir.Path, services: s => s.ConfigurePitr(Configure)))
        {
            var shard = host.Shard(Tenant, Table);
            await shard.DdlAsync(new DdlRequest("CREATE TABLE docs(id INTEGER PRIMARY KEY, body TEXT NOT NULL)"));
            await shard.MutateAsync(new MutationRequest(BulkInsert));
            first = await SequenceOf(shard.MutateAsync(new MutationRequest("UPDATE docs SET body = 'a' WHERE id = 1")));
            await shard.RefreshCapacityAsync();
            Assert.Equal([first], snapshots.List());

            // Enough bytes for the next snapshot, but one commit of the three.
            await shard.MutateAsync(new MutationRequest("UPDATE docs SET body = body || 'x'"));
            await shard.RefreshCapacityAsync();
            Assert.Equal([first], snapshots.List());
        }

        await using (var host = await ShardTestHost.StartAsync(dataDirectory: dir.Path, services: s => s.ConfigurePitr(Configure)))
        {
            // Two tiny commits complete the count; the bytes were logged before the restart.
            var shard = host.Shard(Tenant, Table);
            await shard.MutateAsync(new MutationRequest("UPDATE docs SET body = 'b' WHERE id = 2"));
            var third = await SequenceOf(shard.MutateAsync(new MutationRequest("UPDATE docs SET body = 'c' WHERE id = 3")));
            await shard.RefreshCapacityAsync();
            Assert.Equal([first, third], snapshots.List());
        }
    }

    [Fact]
    public async Task A_shard_restarted_more_often_than_the_interval_still_snapshots_by_time()
    {
        using var dir = new TempDirectory("snapshot-schedule");
        var time = new FakeTimeProvider();
        void Configure(PitrOptions o)
        {
            o.SnapshotEveryCommits = 1_000_000;
            o.SnapshotInterval = TimeSpan.FromHours(1);
        }

        var snapshots = Snapshots(dir.Path);
        long first;
        await using (var host = await ShardTestHost.StartAsync(dataDirectory: dir.Path, time: time, services: s => s.ConfigurePitr(Configure)))
        {
            var shard = host.Shard(Tenant, Table);
            await shard.DdlAsync(new DdlRequest("CREATE TABLE docs(id INTEGER PRIMARY KEY, body TEXT NOT NULL)"));
            first = await SequenceOf(shard.MutateAsync(new MutationRequest("INSERT INTO docs(body) VALUES ('a')")));
            await shard.RefreshCapacityAsync();
            Assert.Empty(snapshots.List());

            time.Advance(TimeSpan.FromMinutes(61));
            await shard.RefreshCapacityAsync();
            Assert.Equal([first], snapshots.List());
        }

        // A new activation 40 minutes later, and a check 30 minutes into it: 70 minutes after the snapshot's commit
        // went by, though the shard has been up for only 30.
        time.Advance(TimeSpan.FromMinutes(40));
        await using (var host = await ShardTestHost.StartAsync(dataDirectory: dir.Path, time: time, services: s => s.ConfigurePitr(Configure)))
        {
            var shard = host.Shard(Tenant, Table);
            var second = await SequenceOf(shard.MutateAsync(new MutationRequest("INSERT INTO docs(body) VALUES ('b')")));
            time.Advance(TimeSpan.FromMinutes(30));
            await shard.RefreshCapacityAsync();
            Assert.Equal([first, second], snapshots.List());
        }
    }

    [Theory]
    [InlineData(-0.1)]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    public void A_log_fraction_that_is_negative_or_not_a_number_fails_validation(double fraction)
    {
        var result = new PitrOptionsValidator().Validate(null, new PitrOptions { SnapshotLogFraction = fraction });
        Assert.True(result.Failed);
        Assert.Contains("SnapshotLogFraction", result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void A_log_fraction_of_zero_snapshots_by_count_alone_and_is_valid()
    {
        Assert.True(new PitrOptionsValidator().Validate(null, new PitrOptions { SnapshotLogFraction = 0 }).Succeeded);
    }

    private static SnapshotStore Snapshots(string dataDirectory) =>
        new(Path.Combine(dataDirectory, Tenant, Table + ".snapshots"));

    private static async Task<long> SequenceOf(Task<MutationResult> mutation) => Bookmark.Parse((await mutation).Bookmark).Sequence;
}
