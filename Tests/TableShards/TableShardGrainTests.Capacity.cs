using OrleansShards.Tests.Infrastructure;

namespace OrleansShards.Tests.TableShards;

public sealed partial class TableShardGrainTests
{
    private const long SmallLimit = 256 * 1024;

    [Fact]
    public async Task Writes_and_reads_go_on_after_capacity_timer_ticks()
    {
        // The tick arrives through the grain call filter, which already holds the exclusive turn for it; a tick that
        // entered the gate again waited for itself, and every later call queued behind it until it timed out.
        await using var host = await ShardTestHost.StartAsync(o => o.CapacityCheckPeriod = TimeSpan.FromMilliseconds(200));
        var shard = host.Shard("t", "items");
        await shard.DdlAsync(new DdlRequest(ItemsDdl));
        await InsertAsync(shard, "before");
        await Task.Delay(TimeSpan.FromSeconds(1));

        for (var i = 0; i < 5; i++)
        {
            await InsertAsync(shard, "after " + i).WaitAsync(TimeSpan.FromSeconds(10));
            await Task.Delay(TimeSpan.FromMilliseconds(150));
        }

        Assert.Equal(6, await ShardAssert.CountAsync(shard).WaitAsync(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task MutateAsync_raises_capacity_exceeded_when_the_file_reaches_max_page_count()
    {
        await using var host = await ShardTestHost.StartAsync(o => o.MaxShardSizeBytes = SmallLimit);
        var shard = host.Shard("t", "items");
        await shard.DdlAsync(new DdlRequest(ItemsDdl));

        var inserted = 0;
        ShardException? refusal = null;
        for (var i = 0; i < 200 && refusal is null; i++)
        {
            try
            {
                await InsertAsync(shard, i + new string('x', 8000));
                inserted++;
            }
            catch (ShardException ex)
            {
                refusal = ex;
            }
        }

        Assert.NotNull(refusal);
        Assert.Equal(ShardErrorCode.CapacityExceeded, refusal.Code);
        Assert.InRange(inserted, 5, 40);
        Assert.Equal(inserted, await ShardAssert.CountAsync(shard));
        await ShardAssert.FailsWith(ShardErrorCode.CapacityExceeded, () => InsertAsync(shard, "more" + new string('x', 8000)));
        var pages = await shard.QueryAsync(new QueryRequest("PRAGMA page_count"));
        Assert.True(pages.Rows[0][0].AsInteger * 4096 <= SmallLimit);
        using var raw = ShardAssert.OpenRaw(host.DataDirectory, "t", "items");
        Assert.True(new FileInfo(Path.Combine(host.DataDirectory, "t", "items.db")).Length <= SmallLimit);
    }

    [Fact]
    public async Task MutateAsync_refuses_growth_but_allows_delete_when_shard_is_past_its_limit()
    {
        using var dir = new TempDirectory("capacity");
        await using (var big = await ShardTestHost.StartAsync(dataDirectory: dir.Path))
        {
            var shard = big.Shard("t", "items");
            await shard.DdlAsync(new DdlRequest(ItemsDdl));
            await shard.BatchAsync(new BatchRequest(
                [.. Enumerable.Range(0, 40).Select(i => new Statement("INSERT INTO items(name, qty) VALUES (?, 1)", [i + new string('x', 8000)]))]));
        }

        await using var host = await ShardTestHost.StartAsync(o => o.MaxShardSizeBytes = SmallLimit, dataDirectory: dir.Path);
        var small = host.Shard("t", "items");

        // Past the limit, a write that needs more space is refused (by the measured-size check, or by
        // max_page_count when the file cannot grow — both answer CAPACITY_EXCEEDED) ...
        var error = await ShardAssert.FailsWith(ShardErrorCode.CapacityExceeded,
            () => small.MutateAsync(new MutationRequest("INSERT INTO items(name, qty) VALUES (?, 1)", ["new" + new string('y', 8000)])));
        Assert.Contains("size limit", error.Message, StringComparison.Ordinal);
        Assert.Equal(40, await ShardAssert.CountAsync(small));
        var stats = await small.GetStatsAsync();
        Assert.True(stats.SizeBytes >= SmallLimit);
        Assert.Equal(SmallLimit, stats.MaxSizeBytes);

        // ... while writes that need no new page still work, so the shard can recover: DELETE first
        // (an UPDATE of these 8 KB rows rewrites their overflow chains, which needs a free page).
        var deleted = await small.MutateAsync(new MutationRequest("DELETE FROM items WHERE id > 10"));
        Assert.Equal(30, deleted.Changes);
        await small.MutateAsync(new MutationRequest("UPDATE items SET qty = 2 WHERE id = 1"));
        Assert.Equal(10, await ShardAssert.CountAsync(small));

        // The deleted rows stay in the change log (for restore) until retention prunes it, so the space they
        // held returns only then; growth is still refused meanwhile.
        await ShardAssert.FailsWith(ShardErrorCode.CapacityExceeded,
            () => small.MutateAsync(new MutationRequest("INSERT INTO items(name, qty) VALUES (?, 1)", ["again" + new string('z', 8000)])));
    }

    [Fact]
    public async Task RefreshCapacityAsync_stores_capacity_size_in_meta_when_called()
    {
        var shard = await ItemsAsync();
        await InsertAsync(shard, new string('x', 20_000));

        var stats = await shard.RefreshCapacityAsync();

        Assert.True(stats.SizeBytes > 20_000);
        var (tenant, table) = ShardName.Parse(stats.Shard);
        using var raw = ShardAssert.OpenRaw(fixture.Host.DataDirectory, tenant, table);
        var stored = ShardAssert.Scalar(raw, "SELECT value FROM _meta WHERE key = 'capacity:size'");
        Assert.Equal(stats.SizeBytes, Convert.ToInt64(stored, System.Globalization.CultureInfo.InvariantCulture));
    }
}
