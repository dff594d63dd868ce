using Xunit.Abstractions;

namespace OrleansShards.Tests.Caching;

/// <summary>
/// Commit→invalidation latency of the embedded path: a TableShard commit's event goes through Orleans' memory stream
/// (provider <c>default</c>, pulled every 5 ms) to the implicitly subscribed CacheInvalidatorGrain, which records the
/// time from the commit to its deletes. The figures are printed; the bound asserted is loose so the test is not flaky
/// on a busy machine (the goal is p95 ≤ 25 ms). It runs alone (<see cref="LatencyCollection"/>): beside another
/// test starting a silo, p95 was 40–65 ms.
/// </summary>
[Collection(LatencyCollection.Name)]
public sealed class InvalidationLatencyTests(ITestOutputHelper output)
{
    private const int Updates = 300;

    [Fact]
    public async Task Memory_stream_delivers_every_invalidation_with_p95_under_200_ms()
    {
        await using var host = await CacheTestHost.StartAsync(o => o.TableConsistency["items"] = Consistency.Cached);
        var shard = await CacheTestHost.SeedAsync(host);

        // Row 1 read through the cache: from now on every commit carries an invalidation event (CacheInterest).
        Assert.Equal("shard", (await shard.LookupRowsAsync(new RowLookupRequest(PrimaryKey: 1))).Meta.ServedBy);
        var invalidator = host.Grains.GetGrain<ICacheInvalidator>("t1:items");
        var before = await invalidator.GetStatsAsync();

        string? last = null;
        for (var i = 0; i < Updates; i++)
        {
            last = (await shard.MutateAsync(new MutationRequest("UPDATE items SET qty = ? WHERE id = 1", [i]))).Bookmark;
            await Task.Delay(2);
        }

        var lastSequence = CacheTestHost.SequenceOf(last);
        await host.WhenAppliedAsync("t1:items", lastSequence);
        var stats = await invalidator.GetStatsAsync();
        var cache = (await shard.GetStatsAsync()).Cache!;

        // The percentiles cover every event of the shard since the silo started: the 300 updates and the seed's schema flush.
        output.WriteLine($"{stats.EventsApplied - before.EventsApplied} invalidations: p50 {stats.LatencyP50Ms} ms, p95 {stats.LatencyP95Ms} ms, p99 {stats.LatencyP99Ms} ms");
        output.WriteLine($"shard stats: p50 {cache.InvalidationP50Ms} ms, p95 {cache.InvalidationP95Ms} ms, p99 {cache.InvalidationP99Ms} ms; duplicates {stats.Duplicates}");
        Assert.Equal(Updates, stats.EventsApplied - before.EventsApplied);
        Assert.Equal(lastSequence, stats.Watermark);
        Assert.Equal(stats.LatencyP95Ms, cache.InvalidationP95Ms);
        Assert.True(stats.LatencyP95Ms < 200, $"p95 {stats.LatencyP95Ms} ms");
    }
}
